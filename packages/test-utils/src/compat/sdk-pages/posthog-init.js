// What a page using posthog-js changes to send to the tracker: `api_host` (the project token is an
// ingest write key). opt_out_useragent_filter is for these tests only: their Chromium is headless and
// automated (HeadlessChrome, navigator.webdriver), which posthog-js otherwise drops as a bot.
window.posthog.init(window.DEMO_CONFIG.writeKey, {
  api_host: window.DEMO_CONFIG.ingestUrl,
  opt_out_useragent_filter: true,
});
