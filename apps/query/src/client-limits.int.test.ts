/**
 * One client cannot hold every export and stream slot, a stalled export reader cannot hold its
 * snapshot open, and a request that gets no database connection in time is answered 503.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TrackerApp } from '@tracker/http';
import { createTestDatabase, type TestDatabase, waitFor } from '@tracker/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { insertBulkInteractions, testConfig } from './query.harness.js';

const KEY = 'read-key-for-limits-0123';
let db: TestDatabase;
const apps: TrackerApp[] = [];
const open: http.IncomingMessage[] = [];

beforeAll(async () => {
  db = await createTestDatabase('query_limits');
  await insertBulkInteractions(db.pool, 60_000, 200);
}, 120_000);
afterEach(async () => {
  for (const res of open.splice(0)) res.destroy();
  await Promise.all(apps.splice(0).map((a) => a.close()));
});
afterAll(async () => db?.drop());

async function start(env: Record<string, string>): Promise<{ app: TrackerApp; base: string }> {
  const app = await buildApp(testConfig(db.url, env));
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

/** A GET whose body is never read (the client stalls); resolves with the response head. */
function stalled(
  url: string,
  headers: Record<string, string> = {},
  localAddress = '127.0.0.1',
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, localAddress }, (res) => {
        res.pause();
        open.push(res);
        resolve(res);
      })
      .on('error', reject);
  });
}

const exportTransactions = async () =>
  Number(
    (
      await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'tracker-query'
            AND xact_start IS NOT NULL`,
      )
    ).rows[0]!.n,
  );

describe('exports', () => {
  it('ends an export whose client stopped reading, and with it its transaction', async () => {
    const { app, base } = await start({
      QUERY_EXPORT_IDLE_TIMEOUT_MS: '1500',
      QUERY_EXPORTS_PER_ADDRESS: '1',
    });
    const res = await stalled(`${base}/api/export?format=csv`);
    expect(res.statusCode).toBe(200);
    // The client reads nothing: the export's transaction (its snapshot) stays open until it is ended.
    await waitFor(async () => (await exportTransactions()) === 1, {
      what: 'the export to stall inside its transaction',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    await waitFor(async () => (await exportTransactions()) === 0, {
      what: 'the stalled export and its transaction to be ended',
      timeoutMs: 15_000,
    });
    // Its slot is free again.
    expect((await app.inject({ url: '/api/export?format=ndjson&limit=1' })).statusCode).toBe(200);
  }, 60_000);

  it('lets one address run QUERY_EXPORTS_PER_ADDRESS exports at once, others still get theirs', async () => {
    const { app, base } = await start({ QUERY_EXPORTS_PER_ADDRESS: '1', QUERY_EXPORT_MAX_CONCURRENT: '4' });
    expect((await stalled(`${base}/api/export?format=csv`)).statusCode).toBe(200);
    const second = await app.inject({ url: '/api/export?format=ndjson&limit=1', remoteAddress: '127.0.0.1' });
    expect(second.statusCode).toBe(429);
    expect(second.json()).toMatchObject({ code: 'TOO_MANY_EXPORTS' });
    expect(second.headers['retry-after']).toBe('10');
    const other = await app.inject({ url: '/api/export?format=ndjson&limit=1', remoteAddress: '192.0.2.7' });
    expect(other.statusCode).toBe(200);
  }, 60_000);

  it('answers 503 when no database connection frees up in QUERY_DB_CONNECT_TIMEOUT_MS', async () => {
    const { app, base } = await start({
      QUERY_DB_POOL_SIZE: '2',
      QUERY_DB_CONNECT_TIMEOUT_MS: '500',
      QUERY_EXPORTS_PER_ADDRESS: '4',
    });
    // Two stalled downloads hold both connections, each inside its transaction. An export may itself
    // get 503 when opening a connection takes longer than 500 ms (a loaded machine, PostgreSQL in a
    // container); then it is asked for again.
    const holdConnection = async () => {
      for (let attempt = 1; ; attempt += 1) {
        const res = await stalled(`${base}/api/export?format=csv`);
        if (res.statusCode === 200) return;
        res.destroy();
        if (attempt === 10) throw new Error(`export answered ${res.statusCode} ${attempt} times`);
      }
    };
    await holdConnection();
    await holdConnection();
    const pool = app.db.pool;
    await waitFor(() => pool.totalCount === 2 && pool.idleCount === 0, {
      what: 'both exports to hold the two connections of the pool',
      timeoutMs: 10_000,
    });
    expect(await exportTransactions()).toBeGreaterThanOrEqual(2);

    const res = await app.inject({ url: '/api/interactions?limit=1' });
    const seen = `pool: ${pool.totalCount} connections, ${pool.idleCount} idle, ${pool.waitingCount} waiting; export rows sent: ${JSON.stringify((await app.metrics.getSingleMetric('query_export_rows_total')?.get())?.values)}`;
    expect(res.statusCode, seen).toBe(503);
    expect(res.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(res.headers['retry-after']).toBe('5');
  }, 60_000);
});

describe('event streams', () => {
  it('caps the streams of one address and of one read key', async () => {
    const { base } = await start({
      QUERY_READ_KEYS: KEY,
      QUERY_STREAMS_PER_ADDRESS: '2',
      QUERY_STREAMS_PER_KEY: '3',
    });
    const url = `${base}/api/stream?stats=false`;
    const auth = { authorization: `Bearer ${KEY}` };
    const first = await stalled(url, auth);
    expect((await stalled(url, auth)).statusCode).toBe(200);
    const third = await stalled(url, auth);
    expect(third.statusCode).toBe(429);
    expect(third.headers['retry-after']).toBe('10');
    // The same key from another address: the key's third stream is allowed, its fourth is not.
    expect((await stalled(url, auth, '127.0.0.2')).statusCode).toBe(200);
    expect((await stalled(url, auth, '127.0.0.2')).statusCode).toBe(429);
    first.destroy();
    await waitFor(async () => (await stalled(url, auth)).statusCode === 200, {
      what: 'a slot to be free once a stream closed',
      timeoutMs: 5000,
    });
  }, 60_000);
});
