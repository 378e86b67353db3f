import type { TrackerApp } from '@tracker/http';
import { buildInteraction, createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { createExportLinks } from './export-link.js';
import { storeRecords, testConfig } from './query.harness.js';

const KEYS = ['rk-export-link-one-0123', 'rk-export-link-two-4567'];
const auth = { authorization: `Bearer ${KEYS[0]}` };

let db: TestDatabase;
let app: TrackerApp;
/** Another replica: the same keys, listed the other way round, no state shared with `app`. */
let replica: TrackerApp;
let open: TrackerApp;

const records = [
  buildInteraction({ userId: 'guest-1', role: 'GUEST', action: 'click' }),
  buildInteraction({ userId: 'guest-2', role: 'GUEST', action: 'page_view' }),
  buildInteraction({ userId: 'user-1', role: 'USER', action: 'click' }),
];

beforeAll(async () => {
  db = await createTestDatabase('query_export_link');
  await storeRecords(db.pool, records);
  app = await buildApp(testConfig(db.url, { QUERY_READ_KEYS: KEYS.join(',') }));
  replica = await buildApp(testConfig(db.url, { QUERY_READ_KEYS: [...KEYS].reverse().join(',') }));
  open = await buildApp(testConfig(db.url));
});

afterAll(async () => {
  await app?.close();
  await replica?.close();
  await open?.close();
  await db?.drop();
});

async function link(query: string, target = app): Promise<{ url: string; expiresAt: string | null }> {
  const res = await target.inject({ method: 'POST', url: `/api/export/link?${query}`, headers: auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const users = (ndjson: string) =>
  ndjson
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { userId: string }).userId)
    .sort();

describe('POST /api/export/link', () => {
  it('answers a signed, short-lived URL for the same filters that downloads without the key', async () => {
    const before = Date.now();
    const answer = await link('role=GUEST&format=ndjson');
    expect(answer.url).toMatch(/^\/api\/export\?[^#]*expires=\d+&.*sig=[\w-]{43}$/);
    for (const key of KEYS) expect(answer.url).not.toContain(key);
    expect(new URL(answer.url, 'http://x').searchParams.has('key')).toBe(false);
    const expiresAt = Date.parse(answer.expiresAt!);
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 59_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 60_000);

    const res = await app.inject({ method: 'GET', url: answer.url });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(users(res.body)).toEqual(['guest-1', 'guest-2']);
  });

  it('is accepted by another replica with the same keys (no shared state)', async () => {
    const answer = await link('action=click&format=ndjson');
    const res = await replica.inject({ method: 'GET', url: answer.url });
    expect(res.statusCode, res.body).toBe(200);
    expect(users(res.body)).toEqual(['guest-1', 'user-1']);
  });

  it('refuses a tampered link with 401: a changed, added or removed parameter, or another signature', async () => {
    const { url } = await link('role=GUEST&format=ndjson');
    const sig = new URL(url, 'http://x').searchParams.get('sig')!;
    const flipped = `${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`;
    const tampered = [
      url.replace('role=GUEST', 'role=USER'),
      url.replace('role=GUEST&', ''),
      `${url}&limit=1`,
      url.replace(/expires=(\d+)/, (_m, s: string) => `expires=${Number(s) + 3600}`),
      url.replace(`sig=${sig}`, `sig=${flipped}`),
      url.replace(`&sig=${sig}`, ''),
      url.replace('format=ndjson', 'format=%6Edjson'),
    ];
    for (const bad of tampered) {
      const res = await app.inject({ method: 'GET', url: bad });
      expect(res.statusCode, bad).toBe(401);
      expect(res.json()).toMatchObject({ status: 401, code: 'UNAUTHORIZED', details: [] });
    }
    const res = await app.inject({ method: 'GET', url: url.replace('role=GUEST', 'role=USER') });
    expect(res.json().message).toBe('the export link is not valid');
  });

  it('refuses an expired link, and one signed with other keys, with 401', async () => {
    const params = new URLSearchParams({ format: 'csv', role: 'GUEST' });
    const expired = createExportLinks(KEYS, 60)!.sign(params, Date.now() - 61_000);
    const late = await app.inject({ method: 'GET', url: expired.url });
    expect(late.statusCode).toBe(401);
    expect(late.json()).toMatchObject({ code: 'UNAUTHORIZED', message: 'the export link has expired' });
    // The same signer, in time: accepted (so the refusal above is about time alone).
    const fresh = createExportLinks(KEYS, 60)!.sign(params, Date.now());
    expect((await app.inject({ method: 'GET', url: fresh.url })).statusCode).toBe(200);

    const foreign = createExportLinks(['some-other-read-key-89ab'], 60)!.sign(params);
    const res = await app.inject({ method: 'GET', url: foreign.url });
    expect(res.statusCode).toBe(401);
    expect(res.json().message).toBe('the export link is not valid');
  });

  it('needs the read key in a header itself, and checks the filters at once', async () => {
    expect((await app.inject({ method: 'POST', url: '/api/export/link?format=csv' })).statusCode).toBe(401);
    const withUrlKey = await app.inject({ method: 'POST', url: `/api/export/link?key=${KEYS[0]}` });
    expect(withUrlKey.statusCode).toBe(401);
    const bad = await app.inject({
      method: 'POST',
      url: '/api/export/link?from=2026-05-02T00:00:00Z&to=2026-05-01T00:00:00Z&format=xml',
      headers: auth,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details.map((d: { path: string }) => d.path)).toContain('querystring.format');
    const order = await app.inject({
      method: 'POST',
      url: '/api/export/link?from=2026-05-02T00:00:00Z&to=2026-05-01T00:00:00Z',
      headers: auth,
    });
    expect(order.statusCode).toBe(400);
    expect(order.json().details[0].path).toMatch(/^querystring\.(from|to)$/);
  });

  it('without read keys answers the plain export URL, which works as before', async () => {
    const res = await open.inject({ method: 'POST', url: '/api/export/link?role=GUEST&format=ndjson' });
    expect(res.statusCode).toBe(200);
    const answer = res.json() as { url: string; expiresAt: string | null };
    expect(answer.expiresAt).toBeNull();
    expect(answer.url).not.toContain('sig=');
    const download = await open.inject({ method: 'GET', url: answer.url });
    expect(download.statusCode).toBe(200);
    expect(users(download.body)).toEqual(['guest-1', 'guest-2']);
  });

  it('is in the OpenAPI document with its parameters and answer', async () => {
    const docs = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, Record<string, { parameters?: { name: string }[]; responses: object }>>;
    };
    const route = docs.paths['/api/export/link']?.post;
    expect(route).toBeDefined();
    const names = route!.parameters!.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['role', 'userId', 'format', 'limit', 'bom']));
    expect(names).not.toContain('key');
    expect(names).not.toContain('sig');
    expect(Object.keys(route!.responses)).toEqual(expect.arrayContaining(['200', '400', '401']));
  });
});
