import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiHitsPlugin, createBaseApp, healthPlugin, requireKey, type TrackerApp } from './index.js';

let app: TrackerApp;
const flushed: number[] = [];

beforeAll(async () => {
  app = await createBaseApp({
    service: 'test',
    logLevel: 'silent',
    bodyLimit: 1000,
    rateLimitMax: 5,
    rateLimitWindowMs: 60_000,
    corsOrigins: ['https://shop.example'],
    docs: { title: 't', description: 'd' },
  });
  await app.register(healthPlugin, { checks: { ok: () => true, down: () => false } });
  await app.register(apiHitsPlugin, { flush: async (n) => void flushed.push(n), intervalMs: 60_000 });
  app.post(
    '/thing',
    {
      schema: {
        body: Type.Object(
          { name: Type.String({ minLength: 1 }), n: Type.Integer() },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => ({ got: request.body.name }),
  );
  app.get(
    '/pick',
    {
      schema: {
        querystring: Type.Object({
          kind: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('ndjson')])),
        }),
      },
    },
    async () => ({ ok: true }),
  );
  app.get(
    '/secret',
    { preHandler: requireKey(['k1', 'k2'], ['bearer', 'header:x-api-key'], 'read key') },
    async () => ({
      ok: true,
    }),
  );
  await app.ready();
});
afterAll(async () => app.close());

describe('the base app answers every failure in the common error shape', () => {
  it('lists every invalid field with its path', async () => {
    const res = await app.inject({ method: 'POST', url: '/thing', payload: { name: '', n: 'x', extra: 1 } });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    const paths = body.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(['body.extra', 'body.n', 'body.name']);
  });

  it('names the allowed values once for a value outside a set of choices', async () => {
    const res = await app.inject({ method: 'GET', url: '/pick?kind=xml' });
    expect(res.statusCode).toBe(400);
    expect(res.json().details).toEqual([
      { path: 'querystring.kind', message: 'must be one of: csv, ndjson' },
    ]);
    expect((await app.inject({ method: 'GET', url: '/pick?kind=ndjson' })).statusCode).toBe(200);
  });

  it('reports a missing field by name', async () => {
    const res = await app.inject({ method: 'POST', url: '/thing', payload: { n: 1 } });
    expect(res.json().details).toEqual([{ path: 'body.name', message: 'is required' }]);
  });

  it('refuses bad JSON with 400, a wrong content type with 415, a large body with 413', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/thing',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('INVALID_JSON');
    const proto = await app.inject({
      method: 'POST',
      url: '/thing',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":"a","n":1,"__proto__":{"admin":true}}',
    });
    expect(proto.statusCode).toBe(400);
    const type = await app.inject({
      method: 'POST',
      url: '/thing',
      headers: { 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expect(type.statusCode).toBe(415);
    expect(type.json()).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    const big = await app.inject({
      method: 'POST',
      url: '/thing',
      payload: { name: 'x'.repeat(2000), n: 1 },
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers unknown routes with 404 in the same shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      status: 404,
      code: 'NOT_FOUND',
      message: 'no route for GET /nope',
      details: [],
    });
  });

  it('needs one of the configured keys, from either source', async () => {
    expect((await app.inject({ method: 'GET', url: '/secret' })).statusCode).toBe(401);
    expect(
      (await app.inject({ method: 'GET', url: '/secret', headers: { authorization: 'Bearer nope' } })).json()
        .code,
    ).toBe('UNAUTHORIZED');
    expect(
      (await app.inject({ method: 'GET', url: '/secret', headers: { authorization: 'Bearer k2' } }))
        .statusCode,
    ).toBe(200);
    expect(
      (await app.inject({ method: 'GET', url: '/secret', headers: { 'x-api-key': 'k1' } })).statusCode,
    ).toBe(200);
  });

  it('rate limits per key and IP with 429 and Retry-After', async () => {
    let last = 0;
    let retryAfter: string | undefined;
    let message = '';
    for (let i = 0; i < 8; i++) {
      const res = await app.inject({
        method: 'GET',
        url: '/secret',
        headers: { 'x-api-key': 'k1' },
        remoteAddress: '10.9.9.9',
      });
      last = res.statusCode;
      retryAfter = res.headers['retry-after'] as string | undefined;
      message = res.json().message;
    }
    expect(last).toBe(429);
    // The window, not the time left in it (which counts down from one answer to the next).
    expect(message).toMatch(
      /^rate limit of 5 requests per 1 minute exceeded; retry in \d+ (second|minute)s?$/,
    );
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // another IP has its own budget
    const other = await app.inject({
      method: 'GET',
      url: '/secret',
      headers: { 'x-api-key': 'k1' },
      remoteAddress: '10.9.9.8',
    });
    expect(other.statusCode).toBe(200);
  });

  it('reports readiness per check and 503 when one fails', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ ready: false, checks: { ok: true, down: false } });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
  });

  it('exposes request metrics by route and status', async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/http_requests_total\{[^}]*route="\/secret"[^}]*status="401"[^}]*\} \d+/);
  });

  it('sends CORS headers to allowed origins only', async () => {
    const ok = await app.inject({
      method: 'OPTIONS',
      url: '/thing',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
    });
    expect(ok.headers['access-control-allow-origin']).toBe('https://shop.example');
    const no = await app.inject({
      method: 'OPTIONS',
      url: '/thing',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(no.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('counts API hits (not health or metrics) and flushes them on close', async () => {
    const fresh = await createBaseApp({
      service: 't2',
      logLevel: 'silent',
      docs: { title: 't', description: 'd' },
    });
    const seen: number[] = [];
    await fresh.register(healthPlugin, { checks: {} });
    await fresh.register(apiHitsPlugin, { flush: async (n) => void seen.push(n), intervalMs: 60_000 });
    fresh.get('/x', async () => ({}));
    await fresh.inject({ method: 'GET', url: '/x' });
    await fresh.inject({ method: 'GET', url: '/x?y=1' });
    await fresh.inject({ method: 'GET', url: '/healthz' });
    await fresh.close();
    expect(seen).toEqual([2]);
  });
});
