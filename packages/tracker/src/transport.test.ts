import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTransport, MAX_BODY_BYTES, type TransportOptions } from './transport.js';
import type { TrackEvent } from './types.js';

const INGEST = 'https://ingest.test';

interface Call {
  url: string;
  init: RequestInit;
  body: { events?: TrackEvent[] } & Record<string, unknown>;
}

/** A fetch double answering from a script of responses (or throwing for 'network'). */
function fakeFetch(...answers: (number | 'network' | Response)[]) {
  const calls: Call[] = [];
  const fn = vi.fn(async (url: string, init: RequestInit) => {
    calls.push({ url, init, body: JSON.parse(init.body as string) });
    const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
    if (answer === 'network') throw new TypeError('Failed to fetch');
    return typeof answer === 'number'
      ? new Response(answer === 204 ? null : '{}', { status: answer })
      : answer;
  });
  vi.stubGlobal('fetch', fn);
  return calls;
}

let n = 0;
function event(overrides: Partial<TrackEvent> = {}): TrackEvent {
  n++;
  return {
    eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    userId: 'u-1',
    action: 'click',
    page: '/',
    timestamp: new Date().toISOString(),
    sessionId: 's-1',
    properties: {},
    ...overrides,
  };
}

const options = (over: Partial<TransportOptions> = {}): TransportOptions => ({
  ingestUrl: `${INGEST}/`,
  writeKey: 'wk_test',
  batchSize: 3,
  flushInterval: 1000,
  maxRetries: 4,
  maxQueue: 100,
  debug: false,
  ...over,
});

beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse('2026-11-25T12:00:00Z') });
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('batching', () => {
  it('sends nothing before batchSize events or flushInterval', async () => {
    const calls = fakeFetch(202);
    const t = createTransport(options());
    t.enqueue(event());
    t.enqueue(event());
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(0);
    expect(t.size).toBe(2);
  });

  it('sends one batch as soon as batchSize events wait', async () => {
    const calls = fakeFetch(202);
    const t = createTransport(options());
    const sent = [event(), event(), event()];
    for (const e of sent) t.enqueue(e);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe(`${INGEST}/v1/batch`);
    expect(calls[0]!.body.events!.map((e) => e.eventId)).toEqual(sent.map((e) => e.eventId));
    expect(t.size).toBe(0);
  });

  it('sends what waits after flushInterval, with the write key, keepalive and sentAt', async () => {
    const calls = fakeFetch(202);
    const t = createTransport(options());
    t.enqueue(event());
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);
    const { init, body } = calls[0]!;
    expect(init.method).toBe('POST');
    expect(init.keepalive).toBe(true);
    expect((init.headers as Record<string, string>)['x-write-key']).toBe('wk_test');
    expect((init.headers as Record<string, string>)['content-type']).toBe('application/json');
    expect(body.events![0]!.sentAt).toBe('2026-11-25T12:00:01.000Z');
    expect(body.events![0]!.timestamp).toBe('2026-11-25T12:00:00.000Z');
  });

  it('sends no write key header when none is configured', async () => {
    const calls = fakeFetch(202);
    const t = createTransport(options({ writeKey: undefined }));
    t.enqueue(event());
    await t.flush();
    expect(calls[0]!.init.headers).not.toHaveProperty('x-write-key');
  });

  it('drains a long queue batch after batch on flush, in order', async () => {
    const calls = fakeFetch(202);
    const t = createTransport(options({ batchSize: 50 }));
    const sent = Array.from({ length: 7 }, () => event());
    for (const e of sent) t.enqueue(e);
    await t.flush();
    expect(calls.flatMap((c) => c.body.events!.map((e) => e.eventId))).toEqual(sent.map((e) => e.eventId));
  });

  it('splits batches that would exceed the keepalive body limit', async () => {
    const calls = fakeFetch(202);
    const t = createTransport(options({ batchSize: 20 }));
    for (let i = 0; i < 10; i++) t.enqueue(event({ properties: { blob: 'x'.repeat(10_000) } }), i === 9);
    await t.flush();
    expect(calls.length).toBeGreaterThan(1);
    for (const c of calls)
      expect(Buffer.byteLength(c.init.body as string)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect(calls.reduce((sum, c) => sum + c.body.events!.length, 0)).toBe(10);
  });

  it('keeps at most maxQueue events, dropping the oldest', async () => {
    const calls = fakeFetch(202);
    const t = createTransport(options({ batchSize: 100, maxQueue: 5 }));
    const sent = Array.from({ length: 8 }, () => event());
    for (const e of sent) t.enqueue(e);
    expect(t.size).toBe(5);
    await t.flush();
    expect(calls.flatMap((c) => c.body.events!.map((e) => e.eventId))).toEqual(
      sent.slice(3).map((e) => e.eventId),
    );
  });
});

describe('retry', () => {
  it('retries a 5xx with backoff, keeping the same eventIds and stamping a new sentAt', async () => {
    const calls = fakeFetch(503, 503, 202);
    const t = createTransport(options());
    const e = event();
    t.enqueue(e, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    // Math.random = 0.5: the first retry waits 750 ms (half of 1 s fixed + half of it jittered).
    await vi.advanceTimersByTimeAsync(749);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    // The second waits 1500 ms.
    await vi.advanceTimersByTimeAsync(1499);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(3);
    expect(calls.map((c) => c.body.events![0]!.eventId)).toEqual([e.eventId, e.eventId, e.eventId]);
    expect(calls.map((c) => c.body.events![0]!.sentAt)).toEqual([
      '2026-11-25T12:00:00.000Z',
      '2026-11-25T12:00:00.750Z',
      '2026-11-25T12:00:02.250Z',
    ]);
    expect(t.size).toBe(0);
  });

  it('retries network errors', async () => {
    const calls = fakeFetch('network', 202);
    const t = createTransport(options());
    t.enqueue(event(), true);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.size).toBe(1);
    await vi.advanceTimersByTimeAsync(750);
    expect(calls).toHaveLength(2);
    expect(t.size).toBe(0);
  });

  it('waits for Retry-After on 429', async () => {
    const calls = fakeFetch(new Response('{}', { status: 429, headers: { 'retry-after': '5' } }), 202);
    const t = createTransport(options());
    t.enqueue(event(), true);
    await vi.advanceTimersByTimeAsync(4999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
  });

  it('does not let new events or flush() jump the backoff', async () => {
    const calls = fakeFetch(new Response('{}', { status: 503, headers: { 'retry-after': '10' } }), 202);
    const t = createTransport(options());
    t.enqueue(event(), true);
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 5; i++) t.enqueue(event());
    await t.flush();
    await vi.advanceTimersByTimeAsync(9000);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    // The failed event first, then the five that waited.
    expect(calls.slice(1).flatMap((c) => c.body.events!)).toHaveLength(6);
  });

  it('gives up after maxRetries and goes on with the next events', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const calls = fakeFetch(500);
    const t = createTransport(options({ maxRetries: 2, debug: true }));
    t.enqueue(event(), true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(3);
    expect(t.size).toBe(0);
    expect(warn).toHaveBeenCalledWith('[tracker]', 'batch of 1 dropped after 2 retries');
  });

  it('drops a batch refused with a 4xx other than 429, logging once in debug mode', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const calls = fakeFetch(new Response('{"code":"VALIDATION_FAILED"}', { status: 400 }), 202);
    const t = createTransport(options({ debug: true }));
    t.enqueue(event(), true);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls).toHaveLength(1);
    expect(t.size).toBe(0);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      '[tracker]',
      'batch of 1 refused (HTTP 400)',
      '{"code":"VALIDATION_FAILED"}',
    );
    // The next event is sent normally.
    t.enqueue(event(), true);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(2);
  });

  it('is silent about refusals without debug', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    fakeFetch(401);
    const t = createTransport(options());
    t.enqueue(event(), true);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.size).toBe(0);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('identify items', () => {
  it('go alone to /v1/identify, in order with the events around them', async () => {
    const calls = fakeFetch(202);
    const t = createTransport(options({ batchSize: 10 }));
    t.enqueue(event({ action: 'before' }));
    t.enqueue({ identify: { userId: 'u-9', role: 'USER' } }, true);
    t.enqueue(event({ action: 'after' }));
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls.map((c) => c.url.replace(INGEST, ''))).toEqual(['/v1/batch', '/v1/identify', '/v1/batch']);
    expect(calls[0]!.body.events![0]!.action).toBe('before');
    // stamped with when it was sent, so the server corrects a wrong clock as it does for events
    expect(calls[1]!.body).toEqual({ userId: 'u-9', role: 'USER', sentAt: '2026-11-25T12:00:00.000Z' });
    expect(calls[2]!.body.events![0]!.action).toBe('after');
  });
});

describe('beacon', () => {
  it('hands every queued event to sendBeacon as text, the write key in the URL', async () => {
    const calls = fakeFetch(202);
    const sendBeacon = vi.fn(() => true);
    vi.stubGlobal('navigator', { sendBeacon });
    const t = createTransport(options({ batchSize: 10, writeKey: 'k&1' }));
    const sent = [event(), event()];
    for (const e of sent) t.enqueue(e);
    t.beacon();
    expect(sendBeacon).toHaveBeenCalledTimes(1);
    const [url, body] = sendBeacon.mock.calls[0] as unknown as [string, string];
    expect(url).toBe(`${INGEST}/v1/beacon?writeKey=k%261`);
    expect(typeof body).toBe('string');
    const parsed = JSON.parse(body) as { events: TrackEvent[] };
    expect(parsed.events.map((e) => e.eventId)).toEqual(sent.map((e) => e.eventId));
    expect(parsed.events[0]!.sentAt).toBeDefined();
    expect(t.size).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toHaveLength(0);
  });

  it('also takes events that were waiting for a retry', async () => {
    fakeFetch(503);
    const sendBeacon = vi.fn(() => true);
    vi.stubGlobal('navigator', { sendBeacon });
    const t = createTransport(options());
    t.enqueue(event(), true);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.size).toBe(1);
    t.beacon();
    expect(sendBeacon).toHaveBeenCalledTimes(1);
    expect(t.size).toBe(0);
  });

  it('falls back to a keepalive fetch when sendBeacon refuses', () => {
    const calls = fakeFetch(204);
    vi.stubGlobal('navigator', { sendBeacon: vi.fn(() => false) });
    const t = createTransport(options());
    t.enqueue(event());
    t.beacon();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe(`${INGEST}/v1/beacon?writeKey=wk_test`);
    expect(calls[0]!.init.keepalive).toBe(true);
  });

  it('sends identify calls with a keepalive fetch (beacons cannot set the header)', () => {
    const calls = fakeFetch(202);
    const sendBeacon = vi.fn(() => true);
    vi.stubGlobal('navigator', { sendBeacon });
    const t = createTransport(options());
    t.enqueue({ identify: { userId: 'u-2' } });
    t.beacon();
    expect(sendBeacon).not.toHaveBeenCalled();
    expect(calls[0]!.url).toBe(`${INGEST}/v1/identify`);
    expect(calls[0]!.init.keepalive).toBe(true);
    expect(calls[0]!.body).toEqual({ userId: 'u-2', sentAt: expect.any(String) });
  });
});
