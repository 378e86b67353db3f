// What a page using Segment's browser SDK changes to send to the tracker: `cdnURL` names the ingest,
// whose settings then point the SDK's Segment.io destination (apiHost, protocol) at it too.
window.analytics = window.AnalyticsNext.AnalyticsBrowser.load({
  writeKey: window.DEMO_CONFIG.writeKey,
  cdnURL: window.DEMO_CONFIG.ingestUrl,
});
