/** A property value the ingest API accepts: flat string, number or boolean. */
export type PropertyValue = string | number | boolean;
export type Properties = Record<string, PropertyValue>;

/** Configuration of `createTracker` (the snippet reads the same from its `data-*` attributes). */
export interface TrackerConfig {
  /** Base URL of the ingest service, e.g. `https://ingest.example.com` (no trailing `/v1`). */
  ingestUrl: string;
  /** Write key, sent as `x-write-key` (and `?writeKey=` on beacons). Omit when ingest needs none. */
  writeKey?: string;
  /** Known user id; otherwise an anonymous id kept in localStorage is used until `identify`. */
  userId?: string;
  /** ADMIN, USER or GUEST (any case). Omitted: the server's default (GUEST). */
  role?: string;
  /** CSS selector of the elements whose clicks are captured; `false` or `''` turns click capture off. Default `a, button, [data-track]`. */
  trackClicks?: string | false;
  /** Capture form submissions (form id/name/action, never field values). Default true. */
  trackForms?: boolean;
  /** Send a page view on load and on every SPA navigation (history API, popstate, hashchange). Default true. */
  autoPageview?: boolean;
  /** Send nothing and store nothing when the browser asks not to be tracked (Do-Not-Track or Global Privacy Control). Default true. */
  respectDnt?: boolean;
  /** Query parameters kept in `page` and `referrer` besides utm_*; every other one (and every fragment) is dropped. Default none. */
  allowParams?: string[];
  /** Send when this many events are queued. Default 20. */
  batchSize?: number;
  /** Send queued events at most this long (ms) after the first was queued. Default 2000. */
  flushInterval?: number;
  /** Give up on a batch after this many failed attempts (network errors, 5xx, 429). Default 10. */
  maxRetries?: number;
  /** At most this many events wait in memory; the oldest are dropped beyond it. Default 1000. */
  maxQueue?: number;
  /** Minutes of inactivity after which a new session starts. Default 30. */
  sessionTimeout?: number;
  /** Log dropped events and refused batches to the console. Default false. */
  debug?: boolean;
}

/** One interaction as POST /v1/batch takes it. */
export interface TrackEvent {
  eventId: string;
  userId: string;
  role?: string;
  action: string;
  page: string;
  timestamp: string;
  sentAt?: string;
  sessionId: string;
  properties: Properties;
}

/** The tracker's public API (`window.tracker` for the snippet, the result of `createTracker`). */
export interface Tracker {
  /** Records a named action (lower-cased; `[a-z0-9_.:-]{1,64}`) with flat properties (≤ 50 keys). */
  track(action: string, properties?: Record<string, unknown>): void;
  /** Records a page view of the current location (automatic unless `autoPageview` is false). */
  page(properties?: Record<string, unknown>): void;
  /** Sets the user (and role, default USER) for the events that follow and sends POST /v1/identify. */
  identify(userId: string, role?: string, traits?: Record<string, unknown>): void;
  /** Forgets the identified user: a new anonymous id and a new session (call on log-out). */
  reset(): void;
  /** Sends what is queued now; resolves when the request is done (or was not needed). */
  flush(): Promise<void>;
  /** The user id events are sent with (identified or anonymous). Empty when tracking is disabled. */
  userId(): string;
  /** The current session id. Empty when tracking is disabled. */
  sessionId(): string;
  /** False when Do-Not-Track/GPC is honoured and set: every call is then a no-op. */
  enabled: boolean;
  /** Removes the listeners and history patches and stops the timers (queued events are beaconed). */
  destroy(): void;
}
