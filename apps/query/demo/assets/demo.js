// Loads the tracker snippet for the demo pages and wires the few things they do by hand.
//
// A real site pastes one tag (see docs/getting-started.html):
//   <script async src="https://ingest.example.com/v1/tracker.js" data-ingest-url="https://ingest.example.com"></script>
// The demo builds that tag from /demo/config.js, which the query service writes from its own settings
// (QUERY_DEMO_INGEST_URL, QUERY_DEMO_WRITE_KEY). Nothing in the page's URL or in localStorage can
// change where the script comes from: the pages share an origin with the dashboard and its read key.
(() => {
  const config = window.DEMO_CONFIG || {};
  const ingest = config.ingestUrl || 'http://127.0.0.1:3001';
  const key = config.writeKey;
  // Earlier versions remembered `?ingest=` and `?writeKey=` here; a planted address must not linger.
  for (const stale of ['demo.ingestUrl', 'demo.writeKey']) {
    try {
      localStorage.removeItem(stale);
    } catch {
      // Storage blocked: nothing was stored either.
    }
  }

  // Calls made before the script has loaded wait on a stub; the snippet replays them in order.
  window.tracker = window.tracker || { q: [] };
  const stub = window.tracker;
  for (const m of ['track', 'page', 'identify', 'reset', 'flush']) {
    stub[m] = stub[m] || ((...args) => stub.q.push([m, ...args]));
  }

  const s = document.createElement('script');
  s.async = true;
  s.src = `${ingest}/v1/tracker.js`;
  s.dataset.ingestUrl = ingest;
  if (key) s.dataset.writeKey = key;
  s.dataset.trackClicks = 'a, button, [data-track]';
  // Short interval so a newcomer sees events on the dashboard within seconds.
  s.dataset.flushInterval = '1000';
  s.dataset.debug = 'true';
  // The plan chosen and the docs step say something; any other query parameter stays out of the data.
  s.dataset.allowParams = 'plan,step';
  let loadError = '';
  s.onload = () => showIdentity();
  s.onerror = () => {
    loadError = `Tracker not loaded: is ingest running at ${ingest}? (./tracker up)`;
    showIdentity();
  };
  document.head.appendChild(s);

  function showIdentity() {
    const who = document.getElementById('demo-who');
    const t = window.tracker;
    if (!who) return;
    if (loadError) {
      who.textContent = loadError;
      who.classList.add('demo-error');
    } else if (typeof t.userId === 'function') {
      who.textContent = t.enabled
        ? `You are ${t.userId()} · events go to ${ingest}`
        : navigator.globalPrivacyControl === true
          ? 'Global Privacy Control is on: nothing is sent'
          : 'Do-Not-Track is on: nothing is sent';
    }
  }

  // The banner and the site's header, the same on every page. Both are landmarks (complementary,
  // banner), so no content sits outside one.
  const CHROME = `
    <aside class="demo-banner" aria-label="About this demo">
      <span><strong>Demo site</strong> of the interaction tracker: every page view, click and form here is
        tracked. <a href="/">Open the dashboard →</a></span>
      <span><span id="demo-who" class="demo-who">loading the tracker…</span>
        <button id="demo-reset" type="button" data-track="reset-identity">Forget me</button></span>
    </aside>
    <header class="site">
      <a class="logo" href="/demo/index.html">Acme Analytics</a>
      <nav aria-label="Site">
        <a href="/demo/pricing.html">Pricing</a>
        <a href="/demo/docs/getting-started.html">Docs</a>
        <a href="/demo/signup.html">Sign up</a>
      </nav>
    </header>`;

  document.addEventListener('DOMContentLoaded', () => {
    document.body.insertAdjacentHTML('afterbegin', CHROME);
    showIdentity();

    // Sign-up: the snippet records form_submit by itself (never the field values). The page then
    // identifies the new user, which is the site's own decision, and moves on.
    const form = document.getElementById('signup-form');
    // Pre-select the plan chosen on the pricing page.
    const chosen = new URLSearchParams(location.search).get('plan');
    const planSelect = form?.querySelector('select[name="plan"]');
    if (chosen && planSelect) planSelect.value = chosen;
    form?.addEventListener('submit', (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const username = String(data.get('username') || '').trim();
      const plan = String(data.get('plan') || 'free');
      window.tracker.identify(username, String(data.get('role') || 'USER'), { plan });
      window.tracker.track('signup', { plan });
      location.href = 'welcome.html';
    });

    for (const button of document.querySelectorAll('[data-purchase]')) {
      button.addEventListener('click', () => {
        window.tracker.track('purchase', {
          plan: button.dataset.purchase,
          amount: Number(button.dataset.amount),
        });
        button.textContent = 'Thanks!';
      });
    }

    const search = document.getElementById('search-form');
    search?.addEventListener('submit', (event) => {
      event.preventDefault();
      // What was searched stays on the page; only the length is tracked.
      const length = String(new FormData(search).get('q') || '').length;
      window.tracker.track('search', { query_length: length });
      document.getElementById('search-result').textContent =
        'No results in this demo. The search was tracked.';
    });

    // Docs steps switch without a page load (history.pushState): the snippet records each as a page view.
    const steps = document.querySelectorAll('[data-step]');
    const showStep = () => {
      const current = new URLSearchParams(location.search).get('step') || '1';
      for (const section of document.querySelectorAll('.step'))
        section.hidden = section.id !== `step-${current}`;
      for (const link of steps) link.classList.toggle('active', link.dataset.step === current);
    };
    for (const link of steps) {
      link.addEventListener('click', (event) => {
        event.preventDefault();
        history.pushState(null, '', `?step=${link.dataset.step}`);
        showStep();
      });
    }
    window.addEventListener('popstate', showStep);
    if (steps.length > 0) showStep();

    document.getElementById('copy-snippet')?.addEventListener('click', () => {
      navigator.clipboard?.writeText(document.getElementById('snippet').textContent).catch(() => {});
      window.tracker.track('copy_snippet');
    });

    document.getElementById('demo-reset')?.addEventListener('click', () => {
      window.tracker.reset();
      showIdentity();
    });
  });
})();
