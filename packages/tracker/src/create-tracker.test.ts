// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTracker } from './create-tracker.js';
import { KEYS } from './identity.js';
import { readScriptConfig } from './script-config.js';
import type { TrackEvent, Tracker, TrackerConfig } from './types.js';

const INGEST = 'https://ingest.test';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let requests: { url: string; body: string }[] = [];
let beacons: { url: string; body: string }[] = [];
let tracker: Tracker | undefined;

/** Every event sent so far, through fetch or beacon. */
const sent = (): TrackEvent[] =>
  [...requests, ...beacons]
    .filter((r) => /\/v1\/(batch|beacon)/.test(r.url))
    .flatMap((r) => (JSON.parse(r.body) as { events: TrackEvent[] }).events);
const actions = () => sent().map((e) => e.action);

function start(config: Partial<TrackerConfig> = {}): Tracker {
  tracker = createTracker({ ingestUrl: INGEST, writeKey: 'wk', ...config });
  return tracker;
}

function setNavigator(key: string, value: unknown) {
  Object.defineProperty(navigator, key, { value, configurable: true });
}

beforeEach(() => {
  requests = [];
  beacons = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      requests.push({ url, body: init.body as string });
      return new Response('{}', { status: 202 });
    }),
  );
  setNavigator('sendBeacon', (url: string, body: string) => {
    beacons.push({ url, body });
    return true;
  });
  history.replaceState(null, '', '/demo/');
  document.title = 'Demo home';
  document.body.innerHTML = '';
});

afterEach(() => {
  tracker?.destroy();
  tracker = undefined;
  localStorage.clear();
  sessionStorage.clear();
  for (const key of ['doNotTrack', 'globalPrivacyControl']) setNavigator(key, undefined);
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('page views', () => {
  it('sends one on start with page, title, ids and timestamp', async () => {
    const t = start();
    await t.flush();
    const [view] = sent();
    expect(view).toMatchObject({
      action: 'page_view',
      page: '/demo/',
      properties: { title: 'Demo home' },
      userId: expect.stringMatching(/^anon-/),
      sessionId: expect.stringMatching(UUID),
      eventId: expect.stringMatching(UUID),
    });
    expect(view).not.toHaveProperty('role');
    expect(Date.parse(view!.timestamp)).not.toBeNaN();
    expect(requests[0]!.url).toBe(`${INGEST}/v1/batch`);
  });

  it('follows SPA navigation: pushState, replaceState to a new URL, popstate, hashchange', async () => {
    const t = start();
    history.pushState(null, '', '/demo/pricing?plan=pro');
    history.replaceState({ scroll: 10 }, '', '/demo/pricing?plan=pro'); // same URL: no page view
    history.replaceState(null, '', '/demo/docs');
    history.pushState(null, '', '/demo/signup');
    // What the browser does on Back: the URL changes, then popstate fires.
    History.prototype.replaceState.call(history, null, '', '/demo/docs');
    window.dispatchEvent(new PopStateEvent('popstate'));
    History.prototype.replaceState.call(history, null, '', '/demo/docs#install');
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    await t.flush();
    const views = sent().filter((e) => e.action === 'page_view');
    expect(views.map((e) => e.page)).toEqual([
      '/demo/',
      '/demo/pricing',
      '/demo/docs',
      '/demo/signup',
      '/demo/docs',
      '/demo/docs',
    ]);
    expect(views[1]!.properties.referrer).toBe(`${location.origin}/demo/`);
    expect(views[2]!.properties.referrer).toBe(`${location.origin}/demo/pricing`);
    expect(views[5]!.properties).not.toHaveProperty('hash');
  });

  it('sends none by itself with autoPageview off, one on page()', async () => {
    const t = start({ autoPageview: false });
    history.pushState(null, '', '/demo/pricing');
    t.page({ variant: 'b' });
    await t.flush();
    expect(sent()).toHaveLength(1);
    expect(sent()[0]).toMatchObject({
      action: 'page_view',
      page: '/demo/pricing',
      properties: { variant: 'b' },
    });
  });

  it('leaves the history API as it found it on destroy', () => {
    const push = history.pushState;
    const t = start();
    expect(history.pushState).not.toBe(push);
    t.destroy();
    expect(history.pushState).toBe(push);
  });
});

describe('URLs: no fragments, no query parameters but utm_* and the allowed ones', () => {
  it('sends /reset?token=abc&utm_source=x#access_token=y as /reset?utm_source=x, in page and referrer', async () => {
    // Secrets that cannot occur by chance in what is sent (an eventId is hex: `abc` can).
    history.replaceState(null, '', '/reset?token=s3cr3t-t0k3n&utm_source=x#access_token=fr4gm3nt');
    const t = start();
    history.pushState(null, '', '/next?utm_campaign=spring&email=a%40b.c');
    t.track('clicked');
    await t.flush();
    const [first, second, custom] = sent();
    expect(first!.page).toBe('/reset?utm_source=x');
    expect(second!.page).toBe('/next?utm_campaign=spring');
    expect(second!.properties.referrer).toBe(`${location.origin}/reset?utm_source=x`);
    expect(custom!.page).toBe('/next?utm_campaign=spring');
    const body = JSON.stringify(sent());
    for (const secret of ['token', 's3cr3t-t0k3n', 'fr4gm3nt', 'access_token', 'a%40b.c', '#'])
      expect(body).not.toContain(secret);
  });

  it('keeps only origin, path and allowed parameters of a referrer from another site', async () => {
    Object.defineProperty(document, 'referrer', {
      value: 'https://other.example/account/reset?token=s3cret&utm_medium=mail&ref=a#frag',
      configurable: true,
    });
    try {
      const t = start();
      await t.flush();
      expect(sent()[0]!.properties.referrer).toBe('https://other.example/account/reset?utm_medium=mail');
    } finally {
      Object.defineProperty(document, 'referrer', { value: '', configurable: true });
    }
  });

  it('keeps the parameters the site allows (allowParams), as written', async () => {
    history.replaceState(null, '', '/pricing?plan=pro&ref=mail%20x&session=s1&Plan=x');
    const t = start({ allowParams: ['plan', 'ref'] });
    await t.flush();
    expect(sent()[0]!.page).toBe('/pricing?plan=pro&ref=mail%20x');
  });
});

describe('clicks', () => {
  it('captures tag, id, trimmed text, link path and data attributes of the matching ancestor', async () => {
    document.body.innerHTML = `<a id="cta" href="/demo/signup?token=secret#top" data-plan="pro" data-track="hero-cta">
      <span>Sign   up</span> now </a>`;
    const t = start({ autoPageview: false });
    document.querySelector('span')!.click();
    await t.flush();
    expect(sent()).toHaveLength(1);
    expect(sent()[0]).toMatchObject({
      action: 'click',
      page: '/demo/',
      properties: {
        tag: 'a',
        id: 'cta',
        text: 'Sign up now',
        href: '/demo/signup',
        'data-plan': 'pro',
        'data-track': 'hero-cta',
      },
    });
    expect(JSON.stringify(sent())).not.toContain('secret');
  });

  it('truncates long text to 80 characters', async () => {
    document.body.innerHTML = `<button>${'word '.repeat(40)}</button>`;
    const t = start({ autoPageview: false });
    document.querySelector('button')!.click();
    await t.flush();
    const text = sent()[0]!.properties.text as string;
    expect(text).toHaveLength(80);
    expect(text.endsWith('…')).toBe(true);
  });

  it('ignores elements outside the selector; the selector is configurable', async () => {
    document.body.innerHTML =
      '<div id="plain">text</div><button id="b">B</button><p class="promo" id="p">Promo</p>';
    const t = start({ autoPageview: false, trackClicks: '.promo' });
    for (const id of ['plain', 'b', 'p']) document.getElementById(id)!.click();
    await t.flush();
    expect(sent().map((e) => e.properties.id)).toEqual(['p']);
  });

  it('can be turned off', async () => {
    document.body.innerHTML = '<button>B</button>';
    const t = start({ autoPageview: false, trackClicks: false });
    document.querySelector('button')!.click();
    await t.flush();
    expect(sent()).toHaveLength(0);
  });

  it('never reads what was typed into a field', async () => {
    document.body.innerHTML =
      '<input id="q" data-track value="typed secret"><textarea data-track>draft secret</textarea><input type="submit" value="Go">';
    const t = start({ autoPageview: false, trackClicks: 'input, textarea' });
    (document.getElementById('q') as HTMLInputElement).value = 'typed secret';
    for (const el of Array.from(document.querySelectorAll('input, textarea'))) (el as HTMLElement).click();
    await t.flush();
    expect(sent().map((e) => e.properties.text)).toEqual([undefined, undefined, 'Go']);
    expect(JSON.stringify(sent())).not.toContain('secret');
  });
});

describe('form submissions', () => {
  it('captures the form’s id, name, action and method, never a field value', async () => {
    document.body.innerHTML = `
      <form id="signup" name="signup-form" action="/demo/welcome?x=1" method="POST" data-variant="short">
        <input name="email" value="ada@example.com">
        <input type="password" name="password" value="hunter2">
        <input name="name" value="Ada Lovelace"><input name="action" value="clobbered">
        <select name="plan"><option value="pro" selected>Pro plan</option></select>
        <button type="submit">Create account</button>
      </form>`;
    const t = start({ autoPageview: false });
    const form = document.querySelector('form')!;
    form.addEventListener('submit', (e) => e.preventDefault());
    form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    await t.flush();
    expect(sent()).toHaveLength(1);
    expect(sent()[0]!.action).toBe('form_submit');
    expect(sent()[0]!.properties).toEqual({
      id: 'signup',
      name: 'signup-form',
      action: '/demo/welcome',
      method: 'post',
      'data-variant': 'short',
    });
    const everything = JSON.stringify([...requests, ...beacons]);
    for (const secret of ['ada@example.com', 'hunter2', 'Ada Lovelace', 'clobbered', 'Pro plan']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('can be turned off', async () => {
    document.body.innerHTML = '<form id="f"></form>';
    const t = start({ autoPageview: false, trackForms: false });
    document.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true }));
    await t.flush();
    expect(sent()).toHaveLength(0);
  });
});

describe('custom events', () => {
  it('lower-cases the action and keeps only flat values, at most 50 keys', async () => {
    const t = start({ autoPageview: false });
    const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, i]));
    t.track('Purchase Completed', {
      plan: 'pro',
      amount: 49.5,
      trial: false,
      nested: { a: 1 },
      none: null,
      nan: Number.NaN,
    });
    t.track('bulk', many);
    await t.flush();
    expect(sent()[0]).toMatchObject({
      action: 'purchase_completed',
      properties: { plan: 'pro', amount: 49.5, trial: false },
    });
    expect(Object.keys(sent()[0]!.properties)).toEqual(['plan', 'amount', 'trial']);
    expect(Object.keys(sent()[1]!.properties)).toHaveLength(50);
  });

  it('drops an action ingest would refuse, with a warning in debug mode', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const t = start({ autoPageview: false, debug: true });
    t.track('bad/action!');
    t.track('x'.repeat(65));
    await t.flush();
    expect(sent()).toHaveLength(0);
    expect(warn).toHaveBeenCalledTimes(2);
  });
});

describe('users and sessions', () => {
  it('keeps an anonymous id across page loads until identify, then the user and role', async () => {
    let t = start({ autoPageview: false });
    const anonymous = t.userId();
    expect(anonymous).toMatch(/^anon-[0-9a-f-]{36}$/);
    t.destroy();
    t = start({ autoPageview: false });
    expect(t.userId()).toBe(anonymous);
    t.identify('user-42', 'admin', { plan: 'pro' });
    t.track('after_login');
    await t.flush();
    const identify = requests.find((r) => r.url === `${INGEST}/v1/identify`)!;
    expect(JSON.parse(identify.body)).toMatchObject({
      eventId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      userId: 'user-42',
      role: 'ADMIN',
      traits: { anonymousId: anonymous, plan: 'pro' },
      timestamp: expect.any(String),
    });
    expect(sent().at(-1)).toMatchObject({ userId: 'user-42', role: 'ADMIN', action: 'after_login' });
    t.destroy();
    // Next page load: still the identified user.
    t = start({ autoPageview: false });
    expect(t.userId()).toBe('user-42');
    t.reset();
    expect(t.userId()).toMatch(/^anon-/);
    expect(t.userId()).not.toBe(anonymous);
  });

  it('defaults the role of identify to USER and takes the user from the config', async () => {
    const t = start({ autoPageview: false, userId: 'from-page', role: 'guest' });
    t.track('a');
    t.identify('someone');
    t.track('b');
    await t.flush();
    expect(sent().map((e) => [e.userId, e.role])).toEqual([
      ['from-page', 'GUEST'],
      ['someone', 'USER'],
    ]);
    // identify links the id the events so far were sent under, not an anonymous id made up now
    const identify = requests.find((r) => r.url === `${INGEST}/v1/identify`)!;
    expect(JSON.parse(identify.body).traits).toEqual({ anonymousId: 'from-page' });
  });

  it('ignores a role ingest does not know', async () => {
    const t = start({ autoPageview: false, role: 'superuser' });
    t.track('a');
    await t.flush();
    expect(sent()[0]).not.toHaveProperty('role');
  });

  it('keeps the session for 30 minutes of inactivity, then starts a new one', () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-25T12:00:00Z'), toFake: ['Date'] });
    const t = start({ autoPageview: false });
    const first = t.sessionId();
    vi.setSystemTime(Date.parse('2026-11-25T12:29:00Z'));
    expect(t.sessionId()).toBe(first);
    vi.setSystemTime(Date.parse('2026-11-25T12:58:00Z')); // 29 min after the last activity
    expect(t.sessionId()).toBe(first);
    vi.setSystemTime(Date.parse('2026-11-25T13:28:01Z'));
    const second = t.sessionId();
    expect(second).not.toBe(first);
    expect(sessionStorage.getItem(KEYS.session)).toContain(second);
  });
});

describe('Do-Not-Track', () => {
  it.each([
    ['doNotTrack', '1'],
    ['globalPrivacyControl', true],
  ])('with respectDnt and navigator.%s = %s: sends and stores nothing', async (key, value) => {
    setNavigator(key, value);
    document.body.innerHTML = '<button>B</button>';
    const t = start({ respectDnt: true });
    t.track('x');
    t.identify('u');
    document.querySelector('button')!.click();
    document.dispatchEvent(new Event('visibilitychange'));
    await t.flush();
    expect(t.enabled).toBe(false);
    expect(requests).toHaveLength(0);
    expect(beacons).toHaveLength(0);
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
  });

  it.each([
    ['doNotTrack', '1'],
    ['globalPrivacyControl', true],
  ])('is honoured by default: navigator.%s = %s sends nothing', async (key, value) => {
    setNavigator(key, value);
    const t = start();
    t.track('x');
    await t.flush();
    expect(t.enabled).toBe(false);
    expect(requests).toHaveLength(0);
    expect(localStorage.length).toBe(0);
  });

  it('still hands the (disabled) tracker to the snippet, so calls queued on its stub are dropped', () => {
    setNavigator('globalPrivacyControl', true);
    let handed: Tracker | undefined;
    tracker = createTracker({ ingestUrl: INGEST }, (t) => {
      handed = t;
    });
    expect(handed).toBe(tracker);
    expect(handed?.enabled).toBe(false);
  });

  it('is ignored when the site opts out (respectDnt: false)', async () => {
    setNavigator('globalPrivacyControl', true);
    const t = start({ respectDnt: false });
    await t.flush();
    expect(t.enabled).toBe(true);
    expect(actions()).toEqual(['page_view']);
  });
});

describe('page hide', () => {
  it('beacons what is queued when the page is hidden', async () => {
    const t = start({ autoPageview: false });
    t.track('one');
    t.track('two');
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
    expect(requests).toHaveLength(0);
    expect(beacons).toHaveLength(1);
    expect(beacons[0]!.url).toBe(`${INGEST}/v1/beacon?writeKey=wk`);
    expect(actions()).toEqual(['one', 'two']);
    await t.flush();
    expect(requests).toHaveLength(0);
  });

  it('beacons on pagehide', () => {
    const t = start({ autoPageview: false });
    t.track('leaving');
    window.dispatchEvent(new Event('pagehide'));
    expect(beacons).toHaveLength(1);
    expect(actions()).toEqual(['leaving']);
  });
});

describe('script tag configuration', () => {
  function script(attrs: Record<string, string>): HTMLScriptElement {
    const s = document.createElement('script');
    for (const [k, v] of Object.entries(attrs)) s.setAttribute(k, v);
    return s;
  }

  it('reads every data attribute', () => {
    const config = readScriptConfig(
      script({
        src: 'http://127.0.0.1:3001/v1/tracker.js',
        'data-ingest-url': 'http://localhost:3001',
        'data-write-key': 'wk_1',
        'data-user-id': 'u-1',
        'data-role': 'ADMIN',
        'data-track-clicks': '.btn',
        'data-respect-dnt': 'false',
        'data-allow-params': 'plan, ref,,',
        'data-auto-pageview': 'false',
        'data-track-forms': '0',
        'data-batch-size': '5',
        'data-flush-interval': '500',
        'data-debug': 'true',
      }),
    );
    expect(config).toEqual({
      ingestUrl: 'http://localhost:3001',
      writeKey: 'wk_1',
      userId: 'u-1',
      role: 'ADMIN',
      trackClicks: '.btn',
      trackForms: false,
      autoPageview: false,
      respectDnt: false,
      allowParams: ['plan', 'ref'],
      debug: true,
      batchSize: 5,
      flushInterval: 500,
    });
  });

  it('defaults ingest to where the script came from and the rest to the defaults', () => {
    const config = readScriptConfig(script({ src: 'http://127.0.0.1:3001/v1/tracker.js' }));
    expect(config.ingestUrl).toBe('http://127.0.0.1:3001');
    expect(config).toMatchObject({
      trackClicks: undefined,
      autoPageview: true,
      respectDnt: true,
      allowParams: [],
      trackForms: true,
    });
    expect(readScriptConfig(script({ 'data-track-clicks': 'false' })).trackClicks).toBe(false);
  });

  it('the classic build sets window.tracker and replays calls queued on a stub', async () => {
    const w = window as unknown as { tracker: unknown };
    w.tracker = {
      q: [
        ['identify', 'queued-user', 'admin'],
        ['track', 'queued_before_load', { n: 1 }],
      ],
    };
    await import('./snippet.js');
    tracker = w.tracker as Tracker;
    expect(tracker.enabled).toBe(true);
    await tracker.flush();
    // The queued calls come first (they were made before the script loaded), and the automatic page
    // view is the queued identify's user's: it went out as an anonymous GUEST.
    expect(sent().map((e) => [e.action, e.userId, e.role])).toEqual([
      ['queued_before_load', 'queued-user', 'ADMIN'],
      ['page_view', 'queued-user', 'ADMIN'],
    ]);
    // (the script's own origin as ingest: the identify first, then the batch)
    expect(requests.map((r) => r.url)).toEqual([
      `${location.origin}/v1/identify`,
      `${location.origin}/v1/batch`,
    ]);
  });
});
