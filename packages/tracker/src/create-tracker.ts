import { clickProperties, formProperties } from './capture.js';
import { createIdentity } from './identity.js';
import { createTransport } from './transport.js';
import type { Tracker, TrackerConfig } from './types.js';
import { allowedSearch, cleanUrl } from './url-privacy.js';
import { cleanAction, cleanProperties, cut, MAX_PAGE, MAX_USER_ID, uuid } from './util.js';

/** Defaults of every optional setting (README lists them). */
export const DEFAULTS = {
  trackClicks: 'a, button, [data-track]' as string | false,
  trackForms: true,
  autoPageview: true,
  respectDnt: true,
  allowParams: [] as string[],
  batchSize: 20,
  flushInterval: 2000,
  maxRetries: 10,
  maxQueue: 1000,
  sessionTimeout: 30,
  debug: false,
};

const ROLE = /^(admin|user|guest)$/i;

/** True when the browser says "do not track me": Do-Not-Track (any vendor's spelling) or Global Privacy Control. */
export function doNotTrack(): boolean {
  const n = navigator as Navigator & { msDoNotTrack?: string; globalPrivacyControl?: boolean };
  const w = window as Window & { doNotTrack?: string };
  return (
    [n.doNotTrack, w.doNotTrack, n.msDoNotTrack].some((v) => v === '1' || v === 'yes') ||
    n.globalPrivacyControl === true
  );
}

const noop = (): Tracker => ({
  track() {},
  page() {},
  identify() {},
  reset() {},
  flush: () => Promise.resolve(),
  userId: () => '',
  sessionId: () => '',
  enabled: false,
  destroy() {},
});

/**
 * Starts tracking the page: page views (on load and on SPA navigation), clicks on the configured
 * elements, form submissions, plus the calls of the returned API. Events are batched in memory,
 * sent to `${ingestUrl}/v1/batch`, retried with backoff, and handed to sendBeacon when the page
 * is hidden. With Do-Not-Track/GPC set (unless `respectDnt` is false), nothing is sent or stored.
 * URLs lose their fragment and every query parameter but utm_* and `allowParams`.
 */
export function createTracker(
  config: TrackerConfig,
  /** Runs with the tracker before its first automatic page view (the snippet replays queued calls). */
  beforeStart?: (tracker: Tracker) => void,
): Tracker {
  const c = { ...DEFAULTS, ...config };
  for (const k of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    if (config[k] === undefined) (c as Record<string, unknown>)[k] = DEFAULTS[k];
  }
  if (typeof window === 'undefined') return noop();
  if (c.respectDnt && doNotTrack()) {
    // Calls queued on the snippet's stub are replayed into the no-op, and the page sees `enabled: false`.
    const off = noop();
    beforeStart?.(off);
    return off;
  }
  const warn = (...args: unknown[]) => {
    if (c.debug) console.warn('[tracker]', ...args);
  };
  const validRole = (role: string | undefined) => {
    if (role && !ROLE.test(role)) warn(`role "${role}" ignored: ADMIN, USER or GUEST`);
    return role && ROLE.test(role) ? role.toUpperCase() : undefined;
  };
  const who = createIdentity(
    c.userId === undefined ? undefined : cut(c.userId, MAX_USER_ID),
    validRole(c.role),
    c.sessionTimeout,
  );
  const transport = createTransport(c);
  let lastUrl = '';

  const emit = (action: string, properties: Record<string, string | number | boolean>) =>
    transport.enqueue({
      eventId: uuid(),
      userId: who.userId(),
      role: who.role(),
      action,
      // (a longer URL, state kept in the query string, was refused with every event on the page)
      page: cut(location.pathname + allowedSearch(location.search, c.allowParams), MAX_PAGE),
      timestamp: new Date().toISOString(),
      sessionId: who.session(),
      properties,
    });

  const track = (action: string, properties?: Record<string, unknown>) => {
    const a = cleanAction(action);
    if (a) emit(a, cleanProperties(properties));
    else warn(`action "${action}" dropped: 1-64 of a-z 0-9 _ . : -`);
  };

  const page = (properties?: Record<string, unknown>) => {
    const base: Record<string, string> = {};
    // Fragments and query strings carry tokens (`#access_token=`, `?token=`): never sent.
    const referrer = cleanUrl(lastUrl || document.referrer, c.allowParams);
    if (document.title) base.title = document.title;
    if (referrer) base.referrer = referrer;
    lastUrl = location.href;
    emit('page_view', cleanProperties(properties, cleanProperties(base)));
  };

  const autoPage = () => {
    if (location.href !== lastUrl) page();
  };

  const onClick = (e: Event) => {
    const el = (e.target as Element | null)?.closest?.(c.trackClicks as string);
    if (el) emit('click', clickProperties(el));
  };
  const onSubmit = (e: Event) => emit('form_submit', formProperties(e.target as Element));
  const onHide = () => {
    if (document.visibilityState === 'hidden') transport.beacon();
  };

  const listeners: [EventTarget, string, (e: Event) => void][] = [
    [document, 'visibilitychange', onHide],
    [window, 'pagehide', transport.beacon],
  ];
  if (c.trackClicks) {
    try {
      document.querySelector(c.trackClicks);
      listeners.push([document, 'click', onClick]);
    } catch {
      warn(`click capture off: "${c.trackClicks}" is not a valid selector`);
    }
  }
  if (c.trackForms) listeners.push([document, 'submit', onSubmit]);
  const restore: (() => void)[] = [];
  if (c.autoPageview) {
    listeners.push([window, 'popstate', autoPage], [window, 'hashchange', autoPage]);
    for (const method of ['pushState', 'replaceState'] as const) {
      const original = history[method];
      history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
        original.apply(this, args);
        autoPage();
      };
      restore.push(() => {
        history[method] = original;
      });
    }
  }
  // Capture phase: a handler that stops propagation or prevents default does not hide the event.
  for (const [target, type, fn] of listeners) target.addEventListener(type, fn, true);

  const tracker: Tracker = {
    track,
    page,
    identify(userId, role, traits) {
      const id = cut(String(userId), MAX_USER_ID);
      if (!id) return;
      const r = validRole(role) || 'USER';
      // The id the events so far went out under (a page's data-user-id, else the anonymous id): a
      // fresh anonymous id, made up here when the page had set a user, linked to nothing.
      const previous = who.userId();
      who.identify(id, r);
      transport.enqueue(
        {
          identify: {
            // A retry (a keepalive fetch cut off by the page unloading, then sent again) is counted once.
            eventId: uuid(),
            userId: id,
            role: r,
            traits: cleanProperties(traits, previous === id ? {} : { anonymousId: previous }),
            timestamp: new Date().toISOString(),
          },
        },
        true,
      );
    },
    reset() {
      who.reset();
    },
    flush: transport.flush,
    userId: who.userId,
    sessionId: who.session,
    enabled: true,
    destroy() {
      for (const [target, type, fn] of listeners) target.removeEventListener(type, fn, true);
      for (const undo of restore) undo();
      transport.beacon();
      transport.stop();
    },
  };
  // NOTE: after the caller's setup, so that a page's identify() made before the script loaded
  // names the user of the first page view too (it went out as an anonymous GUEST).
  beforeStart?.(tracker);
  if (c.autoPageview) autoPage();
  return tracker;
}
