import type { AddressInfo } from 'node:net';
import { ensureInteractionPartitions, recordLag } from '@tracker/db';
import type { TrackerApp } from '@tracker/http';
import { buildInteraction, createTestDatabase, type TestDatabase, waitFor } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { apiItem, readEvents, storeRecords, testConfig } from './query.harness.js';

let db: TestDatabase;
let app: TrackerApp;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase('query_stream');
  await storeRecords(db.pool, [
    buildInteraction({ userId: 'old', action: 'click', page: '/docs/a', occurredAt: Date.now() - 60_000 }),
  ]);
  await recordLag(db.prisma, 'tracker-processor', 'interactions', [
    { partition: 0, committedOffset: 10, highWatermark: 17, lag: 7 },
    { partition: 1, committedOffset: 5, highWatermark: 5, lag: 0 },
  ]);
  app = await buildApp(
    testConfig(db.url, {
      QUERY_STREAM_POLL_MS: '200',
      QUERY_STREAM_STATS_MS: '500',
      QUERY_STREAM_LAG_MS: '500',
      QUERY_STREAM_HEARTBEAT_MS: '1000',
    }),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

type Event = { event: string; data: string };

/** Collects a stream's events in the background until aborted. */
function collect(url: string) {
  const controller = new AbortController();
  const events: Event[] = [];
  const opened = fetch(url, { signal: controller.signal }).then(async (res) => {
    const done = (async () => {
      try {
        for await (const e of readEvents(res.body!)) events.push(e);
      } catch {
        // aborted
      }
    })();
    return { res, done };
  });
  const of = (name: string) => events.filter((e) => e.event === name).map((e) => JSON.parse(e.data));
  return { controller, events, opened, of };
}

describe('GET /api/stream', () => {
  it('sends stats and lag at once, then new matching interactions and refreshed stats; cleans up', async () => {
    const stream = collect(`${base}/api/stream?page=${encodeURIComponent('/docs/*')}&tz=Asia/Kolkata`);
    const { res } = await stream.opened;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toContain('no-cache');

    await waitFor(() => stream.of('stats').length > 0 && stream.of('lag').length > 0, {
      what: 'first stats and lag',
    });
    expect(stream.of('stats')[0].totalActions).toBe(1);
    const lag = stream.of('lag')[0];
    expect(lag.consumerLag).toBe(7);
    expect(lag.partitions).toHaveLength(2);
    expect(Date.parse(lag.newestEventAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(lag.newestEventAgeMs).toBeGreaterThanOrEqual(0);
    await waitFor(() => app.live.listeners === 1, { what: 'the stream to subscribe' });
    // The feed starts from "now": the row stored before the stream opened is not replayed.
    await new Promise((r) => setTimeout(r, 500));

    const match = buildInteraction({
      userId: 'u-new',
      page: '/docs/live',
      action: 'signup',
      properties: { x: 'y' },
    });
    const other = buildInteraction({ userId: 'u-other', page: '/pricing' });
    await storeRecords(db.pool, [match, other]);

    await waitFor(() => stream.of('interaction').length > 0, { what: 'the new interaction' });
    const items = stream.of('interaction');
    expect(items).toEqual([apiItem(match)]);
    await waitFor(() => stream.of('stats').some((s) => s.totalActions === 2), { what: 'refreshed stats' });

    // A row whose transaction committed late (stored_at behind what the feed has seen) still arrives, once.
    const late = buildInteraction({ userId: 'u-late', page: '/docs/late' });
    await ensureInteractionPartitions(db.prisma, [Date.now()]);
    await db.pool.query(
      `INSERT INTO interactions (event_id, user_id, role, action, page, occurred_at, received_at, kafka_partition,
                                 kafka_offset, stored_at)
       VALUES ($1, $2, 'USER', 'click', $3, now(), now(), 0, 999, now() - interval '3 seconds')`,
      [late.eventId, late.userId, late.page],
    );
    await waitFor(() => stream.of('interaction').some((i) => i.eventId === late.eventId), {
      what: 'the late row',
    });
    await new Promise((r) => setTimeout(r, 800));
    expect(stream.of('interaction').map((i) => i.eventId)).toEqual([match.eventId, late.eventId]);

    // Heartbeats keep proxies from closing an idle stream; the connection ends cleanly on abort.
    stream.controller.abort();
    await waitFor(() => app.live.listeners === 0, { what: 'the stream to unsubscribe' });
  });

  it('shares one poller between clients, each with its own filters', async () => {
    const a = collect(`${base}/api/stream?userId=alpha&stats=false`);
    const b = collect(`${base}/api/stream?userId=beta&stats=false`);
    await Promise.all([a.opened, b.opened]);
    await waitFor(() => app.live.listeners === 2, { what: 'two subscribers' });
    await new Promise((r) => setTimeout(r, 400));
    const ra = buildInteraction({ userId: 'alpha' });
    const rb = buildInteraction({ userId: 'beta' });
    await storeRecords(db.pool, [ra, rb]);
    await waitFor(() => a.of('interaction').length > 0 && b.of('interaction').length > 0, {
      what: 'both streams',
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(a.of('interaction').map((i) => i.eventId)).toEqual([ra.eventId]);
    expect(b.of('interaction').map((i) => i.eventId)).toEqual([rb.eventId]);
    expect(a.of('stats')).toEqual([]);
    a.controller.abort();
    b.controller.abort();
    await waitFor(() => app.live.listeners === 0, { what: 'both streams to unsubscribe' });
  });

  it('refuses bad parameters with a JSON 400 before opening the stream', async () => {
    for (const [qs, field] of [
      ['tz=Nowhere/Land', 'tz'],
      ['from=later', 'from'],
      ['limit=5', 'limit'],
    ]) {
      const res = await fetch(`${base}/api/stream?${qs}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { details: { path: string }[] };
      expect(body.details.map((d) => d.path)).toContain(`querystring.${field}`);
    }
  });

  it('sends heartbeats on an idle stream', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/api/stream?stats=false&userId=nobody`, { signal: controller.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    await waitFor(
      async () => {
        const { value } = await reader.read();
        text += decoder.decode(value);
        return text.includes(': heartbeat');
      },
      { what: 'a heartbeat', timeoutMs: 10_000 },
    );
    expect(text.startsWith('retry: 3000\n\n')).toBe(true);
    controller.abort();
  });
});
