/**
 * QUERY_DATABASE_URL: the query service reads from a real streaming replica (pg_basebackup of a
 * primary of this test's own) while the writes go to the primary. Its answers equal the primary's
 * once the replica has replayed, and the `lag` it reports includes how far the replica is behind.
 */

import { createPool, migrate, pg } from '@tracker/db';
import type { TrackerApp } from '@tracker/http';
import type { Role } from '@tracker/schemas';
import {
  buildInteraction,
  type ReplicatedPostgres,
  seededRandom,
  startReplicatedPostgres,
  waitFor,
} from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { readEvents, storeRecords, testConfig } from './query.harness.js';

const rand = seededRandom(24);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const ROLES: Role[] = ['ADMIN', 'USER', 'GUEST'];
const START = Date.UTC(2026, 5, 1);

let cluster: ReplicatedPostgres;
let primaryPool: pg.Pool;
let onPrimary: TrackerApp;
let onReplica: TrackerApp;
const base = new Map<TrackerApp, string>();

const records = (n: number, from = START) =>
  Array.from({ length: n }, (_, i) =>
    buildInteraction({
      userId: `u-${Math.floor(rand() * 60)}`,
      role: pick(ROLES),
      action: pick(['page_view', 'click', 'signup']),
      page: pick(['/', '/docs', '/docs/a', '/pricing']),
      occurredAt: from + i * 37_000,
      receivedAt: from + i * 37_000 + 15,
    }),
  );

beforeAll(async () => {
  cluster = await startReplicatedPostgres();
  const admin = new pg.Client({ connectionString: cluster.primaryUrl('postgres') });
  await admin.connect();
  await admin.query('CREATE DATABASE tracker');
  await admin.end();
  // The schema reaches the replica through streaming replication, like everything after it.
  await migrate(cluster.primaryUrl('tracker'));
  primaryPool = createPool(cluster.primaryUrl('tracker'), 4);
  await storeRecords(primaryPool, records(1200));
  const url = cluster.primaryUrl('tracker');
  // Lag is read afresh for each new stream (it is shared for QUERY_STREAM_LAG_MS).
  const fresh = { QUERY_STREAM_LAG_MS: '500' };
  onPrimary = await buildApp(testConfig(url, fresh), { apiHitsFlushMs: 100 });
  onReplica = await buildApp(
    testConfig(url, { ...fresh, QUERY_DATABASE_URL: cluster.replicaUrl('tracker') }),
    { apiHitsFlushMs: 100 },
  );
  for (const app of [onPrimary, onReplica]) base.set(app, await app.listen({ host: '127.0.0.1', port: 0 }));
  await cluster.caughtUp();
}, 180_000);

afterAll(async () => {
  await onPrimary?.close();
  await onReplica?.close();
  await primaryPool?.end();
  await cluster?.close();
});

const get = async (app: TrackerApp, url: string) => {
  const res = await app.inject({ url });
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
  return res.json();
};

/** The first `lag` event of the query service's /api/stream. */
async function firstLag(app: TrackerApp): Promise<Record<string, unknown>> {
  await new Promise((r) => setTimeout(r, 500));
  const abort = new AbortController();
  try {
    const res = await fetch(`${base.get(app)}/api/stream?stats=false`, { signal: abort.signal });
    for await (const { event, data } of readEvents(res.body!)) {
      if (event === 'lag') return JSON.parse(data);
    }
    throw new Error('the stream ended without a lag event');
  } finally {
    abort.abort();
  }
}

describe('query service on a read replica (QUERY_DATABASE_URL)', () => {
  it('reads from the replica: the server it reads is in recovery', async () => {
    const [row] = await onReplica.db.prisma.$queryRaw<
      { standby: boolean }[]
    >`SELECT pg_is_in_recovery() AS standby`;
    expect(row?.standby).toBe(true);
  });

  it('answers statistics, pages, facets and exports exactly as the primary does once it has replayed', async () => {
    await cluster.caughtUp();
    for (const url of [
      '/api/stats',
      `/api/stats?from=${new Date(START + 3 * 3_600_000).toISOString()}&to=${new Date(START + 9 * 3_600_000).toISOString()}`,
      '/api/stats?role=ADMIN&page=/docs*&tz=Asia/Kolkata',
      '/api/stats?action=signup&userId=u-7&top=3',
      '/api/interactions?limit=100',
      '/api/interactions?limit=20&role=GUEST&action=click',
      '/api/facets',
      '/api/facets?facet=pages&q=docs',
    ]) {
      // apiHits counts these very requests (flushed every 100 ms): the one figure that moves meanwhile.
      const { apiHits: _a, ...replica } = await get(onReplica, url);
      const { apiHits: _p, ...primary } = await get(onPrimary, url);
      expect(replica, url).toEqual(primary);
    }
    const exportOf = async (app: TrackerApp) => (await app.inject({ url: '/api/export?format=ndjson' })).body;
    const exported = await exportOf(onReplica);
    expect(exported.trim().split('\n')).toHaveLength(1200);
    expect(exported).toBe(await exportOf(onPrimary));
  });

  it('reports how far the replica is behind, and catches up when it replays again', async () => {
    expect((await firstLag(onPrimary)).replicaDelayMs).toBeNull();
    expect((await firstLag(onReplica)).replicaDelayMs).toBe(0);

    await cluster.pauseReplay();
    try {
      const late = records(5, START + 86_400_000 * 3);
      await storeRecords(primaryPool, late);
      await new Promise((r) => setTimeout(r, 1500));
      const behind = await firstLag(onReplica);
      expect(behind.replicaDelayMs).toBeGreaterThanOrEqual(1000);
      // What it shows is as of the replica: the new rows are not there yet, the primary has them.
      const total = async (app: TrackerApp) => (await get(app, '/api/stats')).totalActions;
      expect(await total(onPrimary)).toBe(1205);
      expect(await total(onReplica)).toBe(1200);
    } finally {
      await cluster.resumeReplay();
    }
    await cluster.caughtUp();
    expect((await get(onReplica, '/api/stats')).totalActions).toBe(1205);
    await waitFor(async () => (await firstLag(onReplica)).replicaDelayMs === 0, {
      what: 'the replica delay to return to 0',
      timeoutMs: 10_000,
    });
  }, 60_000);

  it('writes its API hit counts to the primary (a replica refuses writes)', async () => {
    const hits = async () =>
      Number(
        (
          await primaryPool.query<{ n: string }>(
            `SELECT coalesce(sum(hits), 0) AS n FROM api_hit_batches WHERE service = 'query'`,
          )
        ).rows[0]!.n,
      );
    const before = await hits();
    await get(onReplica, '/api/interactions?limit=1');
    await waitFor(async () => (await hits()) > before, {
      what: 'the hit to be counted on the primary',
      timeoutMs: 10_000,
    });
  });
});
