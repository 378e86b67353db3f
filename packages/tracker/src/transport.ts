import { backoffDelay, isRetryable, parseRetryAfter } from './retry.js';
import type { TrackEvent } from './types.js';

/** An identify call waiting in the queue (sent alone to POST /v1/identify, in order with the events). */
export interface IdentifyItem {
  identify: Record<string, unknown>;
}
export type Item = TrackEvent | IdentifyItem;

export interface TransportOptions {
  ingestUrl: string;
  writeKey?: string | undefined;
  batchSize: number;
  flushInterval: number;
  maxRetries: number;
  maxQueue: number;
  debug: boolean;
}

/**
 * Request bodies stay under this many bytes: browsers refuse keepalive fetches and beacons whose
 * bodies add up to more than 64 KiB.
 */
export const MAX_BODY_BYTES = 60_000;

export interface Transport {
  /** Queues an item; sends when `batchSize` items wait, else `flushInterval` ms later. Urgent items go now. */
  enqueue(item: Item, urgent?: boolean): void;
  /** Sends everything queued, batch after batch; resolves when done or when a retry was scheduled. */
  flush(): Promise<void>;
  /** Hands everything queued to navigator.sendBeacon (page hidden or unloading). */
  beacon(): void;
  /** Items waiting (not the batch in flight). */
  readonly size: number;
  /** Stops the timers. */
  stop(): void;
}

const isIdentify = (item: Item): item is IdentifyItem => 'identify' in item;
const bytes = (s: string): number => new TextEncoder().encode(s).length;

/**
 * The in-memory queue and its sender. One request at a time: during an outage the head batch is
 * retried with backoff while new events wait behind it (bounded by `maxQueue`). Every event keeps
 * its eventId across attempts, so a retry after a lost answer is not counted twice.
 */
export function createTransport(o: TransportOptions): Transport {
  const base = o.ingestUrl.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.writeKey) headers['x-write-key'] = o.writeKey;
  let queue: Item[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let draining: Promise<void> | undefined;
  let failures = 0;
  let backoffUntil = 0;

  const warn = (...args: unknown[]) => {
    if (o.debug) console.warn('[tracker]', ...args);
  };

  const schedule = (ms: number) => {
    if (timer === undefined) timer = setTimeout(run, ms);
  };

  function run() {
    timer = undefined;
    backoffUntil = 0;
    void flush();
  }

  /** An identify call's body, stamped with when it is sent (the server corrects a wrong clock by it). */
  const identifyBody = (item: IdentifyItem) =>
    JSON.stringify({ ...item.identify, sentAt: new Date().toISOString() });

  /** Events from the head of the queue (up to `limit`, stopping at an identify) and their body. */
  function head(limit: number): [TrackEvent[], string] {
    let n = 0;
    while (n < limit && n < queue.length && !isIdentify(queue[n]!)) n++;
    for (;;) {
      const sentAt = new Date().toISOString();
      const events = (queue.slice(0, n) as TrackEvent[]).map((e) => ({ ...e, sentAt }));
      const body = JSON.stringify({ events });
      if (n === 1 || bytes(body) <= MAX_BODY_BYTES) return [events, body];
      n = Math.ceil(n / 2);
    }
  }

  /** Sends the head of the queue once; true when the loop may go on, false when it must wait. */
  async function sendHead(): Promise<boolean> {
    const first = queue[0]!;
    const [items, body]: [Item[], string] = isIdentify(first)
      ? [[first], identifyBody(first)]
      : head(o.batchSize);
    queue = queue.slice(items.length);
    const what = isIdentify(first) ? 'identify' : `batch of ${items.length}`;
    let retryAfter: number | undefined;
    try {
      if (bytes(body) > MAX_BODY_BYTES) throw new RangeError('too large');
      const res = await fetch(`${base}/v1/${isIdentify(first) ? 'identify' : 'batch'}`, {
        method: 'POST',
        headers,
        body,
        keepalive: true,
        credentials: 'omit',
      });
      if (res.ok || !isRetryable(res.status)) {
        failures = 0;
        if (res.status === 207 || !res.ok)
          warn(`${what} refused (HTTP ${res.status})`, await res.text().catch(() => ''));
        return true;
      }
      retryAfter = parseRetryAfter(res.headers.get('retry-after'), Date.now());
    } catch (error) {
      if (error instanceof RangeError) {
        warn(`${what} dropped: larger than ${MAX_BODY_BYTES} bytes`);
        return true;
      }
    }
    failures++;
    if (failures > o.maxRetries) {
      warn(`${what} dropped after ${o.maxRetries} retries`);
      failures = 0;
      return true;
    }
    // NOTE: back to the front, so the order of events and identify calls is kept.
    queue = items.concat(queue);
    const delay = backoffDelay(failures, retryAfter, Math.random);
    backoffUntil = Date.now() + delay;
    clearTimeout(timer);
    timer = setTimeout(run, delay);
    return false;
  }

  function flush(): Promise<void> {
    if (draining) return draining;
    if (Date.now() < backoffUntil) return Promise.resolve();
    clearTimeout(timer);
    timer = undefined;
    draining = (async () => {
      try {
        while (queue.length > 0 && (await sendHead()));
      } finally {
        draining = undefined;
      }
    })();
    return draining;
  }

  function enqueue(item: Item, urgent?: boolean) {
    queue.push(item);
    if (queue.length > o.maxQueue) {
      warn(`queue full: dropped ${queue.length - o.maxQueue} oldest events`);
      queue = queue.slice(queue.length - o.maxQueue);
    }
    if (urgent || queue.length >= o.batchSize) void flush();
    else schedule(o.flushInterval);
  }

  function beacon() {
    clearTimeout(timer);
    timer = undefined;
    const suffix = o.writeKey ? `?writeKey=${encodeURIComponent(o.writeKey)}` : '';
    while (queue.length > 0) {
      const first = queue[0]!;
      if (isIdentify(first)) {
        queue.shift();
        // A beacon cannot reach /v1/identify (it needs JSON and the header): keepalive fetch instead.
        fetch(`${base}/v1/identify`, {
          method: 'POST',
          headers,
          body: identifyBody(first),
          keepalive: true,
        }).catch(() => {});
        continue;
      }
      const [events, body] = head(queue.length);
      queue = queue.slice(events.length);
      const url = `${base}/v1/beacon${suffix}`;
      // A string body goes as text/plain: no CORS preflight, which a page being unloaded cannot wait for.
      if (!navigator.sendBeacon?.(url, body)) {
        fetch(url, { method: 'POST', body, keepalive: true, credentials: 'omit' }).catch(() => {});
      }
    }
    failures = 0;
    backoffUntil = 0;
  }

  return {
    enqueue,
    flush,
    beacon,
    get size() {
      return queue.length;
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
