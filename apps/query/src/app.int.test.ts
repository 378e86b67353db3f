import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrackerApp } from '@tracker/http';
import { buildInteraction, createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { storeRecords, testConfig } from './query.harness.js';

let db: TestDatabase;
let app: TrackerApp;
const KEYS = 'read-key-one-0123456789,read-key-two-0123456789';

/** Every /api route with a valid query; the keys matter, not the answers. */
const API_ROUTES = [
  '/api/interactions?limit=1',
  '/api/stats',
  '/api/retention',
  '/api/sessions/stats',
  '/api/funnels/saved',
  '/api/facets',
  '/api/export?format=ndjson',
  '/api/stream?stats=false',
  '/api/dlq',
];

beforeAll(async () => {
  db = await createTestDatabase('query_app');
  await storeRecords(db.pool, [buildInteraction({ userId: 'k' })]);
  app = await buildApp(
    testConfig(db.url, { QUERY_READ_KEYS: KEYS, QUERY_DLQ_TIMEOUT_MS: '2000', AUTH_FAILURE_LIMIT: '1000' }),
  );
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

describe('read keys', () => {
  it.each(API_ROUTES)('%s answers 401 without a key or with a wrong one', async (url) => {
    const none = await app.inject({ method: 'GET', url });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
      message: 'a read key is required',
      details: [],
    });
    for (const headers of [
      { authorization: 'Bearer nope' },
      { 'x-api-key': 'read-key-one-0123456789 ' },
      { authorization: 'Basic cmVhZC1rZXktb25lOg==' },
      { 'x-api-key': 'READ-KEY-ONE-0123456789' },
    ]) {
      const wrong = await app.inject({ method: 'GET', url, headers });
      expect(wrong.statusCode, JSON.stringify(headers)).toBe(401);
    }
  });

  it.each(API_ROUTES.filter((u) => !u.startsWith('/api/stream')))(
    '%s accepts either key in either header',
    async (url) => {
      for (const headers of [
        { authorization: 'Bearer read-key-one-0123456789' },
        { 'x-api-key': 'read-key-two-0123456789' },
      ]) {
        const res = await app.inject({ method: 'GET', url, headers });
        // /api/dlq may answer 503 when Kafka is slow; it is past the key check either way.
        expect([200, 503], url).toContain(res.statusCode);
      }
    },
  );

  it('checks the key before the parameters (an outsider learns nothing)', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/interactions?limit=nope' });
    expect(res.statusCode).toBe(401);
  });

  it('takes ?key= on /api/stream and /api/export only (EventSource and download links cannot set headers)', async () => {
    const exported = await app.inject({
      method: 'GET',
      url: '/api/export?format=ndjson&key=read-key-two-0123456789',
    });
    expect(exported.statusCode).toBe(200);
    expect(JSON.parse(exported.body.trim()).userId).toBe('k');
    expect((await app.inject({ method: 'GET', url: '/api/export?key=wrong' })).statusCode).toBe(401);
    // Elsewhere ?key= is no key at all.
    expect(
      (await app.inject({ method: 'GET', url: '/api/stats?key=read-key-one-0123456789' })).statusCode,
    ).toBe(401);
    // …and with a header it is an unknown parameter.
    const extra = await app.inject({
      method: 'GET',
      url: '/api/stats?key=read-key-one-0123456789',
      headers: { 'x-api-key': 'read-key-one-0123456789' },
    });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().details[0].path).toBe('querystring.key');

    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address() as { port: number };
    const base = `http://127.0.0.1:${address.port}`;
    const denied = await fetch(`${base}/api/stream?key=wrong`);
    expect(denied.status).toBe(401);
    const controller = new AbortController();
    const ok = await fetch(`${base}/api/stream?stats=false&key=read-key-one-0123456789`, {
      signal: controller.signal,
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/event-stream');
    controller.abort();
  });

  it('leaves health, metrics, docs and the dashboard public', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/docs/json', '/']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
    }
  });
});

describe('service basics', () => {
  it('is ready when the database answers', async () => {
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({
      ready: true,
      checks: { database: true },
    });
  });

  it('documents every /api route in OpenAPI with its parameters', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    for (const path of [
      '/api/interactions',
      '/api/stats',
      '/api/facets',
      '/api/export',
      '/api/stream',
      '/api/dlq',
    ]) {
      expect(spec.paths[path]?.get, path).toBeDefined();
    }
    const names = spec.paths['/api/interactions'].get.parameters.map((p: { name: string }) => p.name);
    expect(names).toEqual(
      expect.arrayContaining(['userId', 'role', 'action', 'page', 'from', 'to', 'limit', 'cursor']),
    );
  });

  it('answers unknown /api paths with 404 in the common shape', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/nope',
      headers: { 'x-api-key': 'read-key-one-0123456789' },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('NOT_FOUND');
  });

  it('rate limits /api per key and IP with 429 and Retry-After', async () => {
    const limited = await buildApp(
      testConfig(db.url, { QUERY_RATE_LIMIT_MAX: '3', QUERY_RATE_LIMIT_WINDOW_MS: '60000' }),
    );
    try {
      const codes: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 5; i++) {
        const res = await limited.inject({ method: 'GET', url: '/api/facets', remoteAddress: '10.1.1.1' });
        codes.push(res.statusCode);
        retryAfter = res.headers['retry-after'] as string | undefined;
      }
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      expect(Number(retryAfter)).toBeGreaterThan(0);
      expect(
        (await limited.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.1.1.1' })).statusCode,
      ).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('the dashboard and demo pages', () => {
  it('says the dashboard is not built when public/ is missing', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('Dashboard not built');
    expect((await app.inject({ method: 'GET', url: '/demo/' })).statusCode).toBe(404);
  });

  it('serves public/ at / and demo/ at /demo/ when they exist', async () => {
    const root = mkdtempSync(join(tmpdir(), 'query-web-'));
    mkdirSync(join(root, 'public', 'assets'), { recursive: true });
    mkdirSync(join(root, 'demo'));
    writeFileSync(join(root, 'public', 'index.html'), '<!doctype html><title>dash</title>');
    writeFileSync(join(root, 'public', 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(root, 'demo', 'index.html'), '<!doctype html><title>demo shop</title>');
    const web = await buildApp(
      testConfig(db.url, {
        QUERY_PUBLIC_DIR: join(root, 'public'),
        QUERY_DEMO_DIR: join(root, 'demo'),
        QUERY_READ_KEYS: KEYS,
      }),
    );
    try {
      const index = await web.inject({ method: 'GET', url: '/' });
      expect(index.statusCode).toBe(200);
      expect(index.body).toContain('<title>dash</title>');
      expect(index.headers['cache-control']).toBe('no-cache');
      const asset = await web.inject({ method: 'GET', url: '/assets/app.js' });
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['content-type']).toContain('javascript');
      expect((await web.inject({ method: 'GET', url: '/demo/' })).body).toContain('demo shop');
      const bare = await web.inject({ method: 'GET', url: '/demo' });
      expect(bare.statusCode).toBe(301);
      expect(bare.headers.location).toBe('/demo/');
      expect((await web.inject({ method: 'GET', url: '/missing.js' })).statusCode).toBe(404);
      expect((await web.inject({ method: 'GET', url: '/../package.json' })).statusCode).toBe(404);
      // The API stays behind the key.
      expect((await web.inject({ method: 'GET', url: '/api/stats' })).statusCode).toBe(401);
    } finally {
      await web.close();
    }
  });
});

describe('database sessions', () => {
  it('run with JIT off, the stats work_mem, the configured statement timeout, parallel workers and idle timeout', async () => {
    const timed = await buildApp(
      testConfig(db.url, {
        QUERY_STATEMENT_TIMEOUT_MS: '4321',
        QUERY_DB_PARALLEL_WORKERS: '3',
        QUERY_DB_IDLE_TIMEOUT_MS: '45000',
      }),
    );
    try {
      await timed.ready();
      // Through Prisma Client: its queries run on the configured pool's connections.
      const show = async (name: string) =>
        (await timed.db.prisma.$queryRaw<{ v: string }[]>`SELECT current_setting(${name}) AS v`)[0]!.v;
      expect(await show('jit')).toBe('off');
      expect(await show('work_mem')).toBe('32MB');
      expect(await show('statement_timeout')).toBe('4321ms');
      expect(await show('max_parallel_workers_per_gather')).toBe('3');
      // idle connections are kept 45 s (node-postgres' own default: 10 s)
      expect(
        (timed.db.pool as unknown as { options: { idleTimeoutMillis: number } }).options.idleTimeoutMillis,
      ).toBe(45_000);
    } finally {
      await timed.close();
    }
  });
});
