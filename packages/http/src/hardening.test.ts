import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthFailureCounter, createBaseApp, requireKey, type TrackerApp } from './index.js';

const KEY = 'a-key-of-twenty-chars';
const apps: TrackerApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function app(extra: Parameters<typeof createBaseApp>[0] extends infer O ? Partial<O> : never) {
  const a = await createBaseApp({
    service: 't',
    logLevel: 'silent',
    docs: { title: 't', description: 'd' },
    ...extra,
  });
  a.get('/secret', { onRequest: requireKey([KEY], ['bearer'], 'read key') }, async (request) => ({
    ip: request.ip,
  }));
  a.get('/ip', async (request) => ({ ip: request.ip }));
  apps.push(a);
  await a.ready();
  return a;
}

describe('authentication failures', () => {
  it('turns an address away with 429 and Retry-After after too many 401s, before looking at its key', async () => {
    const a = await app({ authFailures: { max: 3, windowMs: 60_000 } });
    const get = (key: string, remoteAddress = '192.0.2.1') =>
      a.inject({ url: '/secret', headers: { authorization: `Bearer ${key}` }, remoteAddress });
    for (let i = 0; i < 3; i++) expect((await get(`wrong-${i}`)).statusCode).toBe(401);
    const blocked = await get(KEY);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ status: 429, code: 'TOO_MANY_AUTH_FAILURES' });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Another address is not affected; the right key from it works.
    expect((await get(KEY, '192.0.2.2')).statusCode).toBe(200);
  });

  it('keeps at most maxTracked addresses in memory', () => {
    const counter = new AuthFailureCounter({ max: 1, windowMs: 60_000, maxTracked: 100 });
    for (let i = 0; i < 10_000; i++) counter.failed(`10.0.${i >> 8}.${i & 255}`, 1000);
    expect(counter.size).toBeLessThanOrEqual(100);
    expect(counter.blockedFor('10.0.39.15', 1000)).toBeGreaterThan(0); // the newest are kept
    expect(counter.blockedFor('10.0.39.15', 61_000)).toBe(0); // and forgotten once the window ends
  });
});

describe('/metrics', () => {
  it('needs the metrics key when one is set', async () => {
    const a = await app({ metricsKey: 'metrics-key-0123456789' });
    expect((await a.inject({ url: '/metrics' })).statusCode).toBe(401);
    expect(
      (await a.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong-key-0123456789' } }))
        .statusCode,
    ).toBe(401);
    const ok = await a.inject({
      url: '/metrics',
      headers: { authorization: 'Bearer metrics-key-0123456789' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('http_requests_total');
  });

  it('stays open without one', async () => {
    const a = await app({});
    expect((await a.inject({ url: '/metrics' })).statusCode).toBe(200);
  });
});

describe('proxy trust', () => {
  it('with a hop count, takes the address the trusted proxy added, not one the client wrote', async () => {
    const a = await app({ trustProxy: 1, rateLimitMax: 2, rateLimitWindowMs: 60_000 });
    const get = (forwarded: string) =>
      a.inject({ url: '/ip', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': forwarded } });
    expect((await get('6.6.6.6, 198.51.100.7')).json()).toEqual({ ip: '198.51.100.7' });
    // A client that writes a new address into each request still lands in its own bucket.
    expect((await get('6.6.6.7, 198.51.100.7')).statusCode).toBe(200);
    expect((await get('6.6.6.8, 198.51.100.7')).statusCode).toBe(429);
  });

  it('with a list, trusts only those proxies', async () => {
    const a = await app({ trustProxy: ['10.0.0.0/8'] });
    const get = (remoteAddress: string) =>
      a.inject({ url: '/ip', remoteAddress, headers: { 'x-forwarded-for': '198.51.100.7' } });
    expect((await get('10.1.2.3')).json()).toEqual({ ip: '198.51.100.7' });
    expect((await get('203.0.113.9')).json()).toEqual({ ip: '203.0.113.9' });
  });
});

describe('HTTP timeouts', () => {
  it('closes a connection whose headers never finish', async () => {
    const a = await app({ timeouts: { requestMs: 10_000, headersMs: 1000, keepAliveMs: 5000 } });
    await a.listen({ host: '127.0.0.1', port: 0 });
    const { port } = a.server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => {
      answer += String(d);
    });
    socket.write('GET /ip HTTP/1.1\r\nHost: x\r\n'); // and never the blank line
    const closed = await new Promise<boolean>((resolve) => {
      socket.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 8000);
    });
    socket.destroy();
    expect(closed).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  }, 15_000);
});
