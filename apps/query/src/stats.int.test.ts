import { randomUUID } from 'node:crypto';
import { type IdentifyRow, storeIdentifies, totalApiHits } from '@tracker/db';
import { computeStatsFromRaw } from '@tracker/db/testing';
import type { TrackerApp } from '@tracker/http';
import type { InteractionRecord, Role } from '@tracker/schemas';
import {
  buildInteraction,
  createTestDatabase,
  seededRandom,
  type TestDatabase,
  waitFor,
} from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { storeRecords, testConfig } from './query.harness.js';

// Generated data: three weeks, 40 users (two heavy, some changing role, some only identified),
// pages sharing prefixes, events near day edges in UTC and in +05:30.
const rand = seededRandom(11);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const START = Date.UTC(2026, 2, 1);
const SPAN = 21 * 86_400_000;
const ROLES: Role[] = ['ADMIN', 'USER', 'GUEST'];
const ACTIONS = ['page_view', 'click', 'form_submit', 'signup'];
const PAGES = ['/', '/docs', '/docs/a', '/docs/b/c', '/pricing', '/Docs/upper'];
const USERS = Array.from({ length: 40 }, (_, i) => `User-${i}`);

const records: InteractionRecord[] = [];
const identifies: IdentifyRow[] = [];
let db: TestDatabase;
let app: TrackerApp;

beforeAll(async () => {
  const roleOf = new Map(USERS.map((u) => [u, pick(ROLES)]));
  for (let i = 0; i < 1500; i++) {
    const user = rand() < 0.3 ? USERS[Math.floor(rand() * 2)]! : USERS[Math.floor(rand() * 34)]!;
    let occurredAt = START + Math.floor(rand() * SPAN);
    // On the edge of a day in UTC, and of a day in Asia/Kolkata (18:30 UTC).
    if (i % 40 === 0) occurredAt = Math.floor(occurredAt / 86_400_000) * 86_400_000 - 1;
    if (i % 45 === 0) occurredAt = Math.floor(occurredAt / 86_400_000) * 86_400_000 + 66_600_000;
    if (rand() < 0.02) roleOf.set(user, pick(ROLES));
    records.push(
      buildInteraction({
        userId: user,
        role: roleOf.get(user)!,
        action: pick(ACTIONS),
        page: pick(PAGES),
        occurredAt,
        receivedAt: occurredAt + 20,
      }),
    );
  }
  for (const [i, userId] of USERS.entries()) {
    if (i % 5 !== 0 && i < 34) continue;
    identifies.push({
      eventId: randomUUID(),
      userId,
      role: pick(ROLES),
      traits: { plan: pick(['free', 'pro']) },
      occurredAt: START + Math.floor(rand() * SPAN),
      receivedAt: START,
      partition: 1,
      offset: String(i),
    });
  }
  db = await createTestDatabase('query_stats');
  await storeRecords(db.pool, records);
  await storeIdentifies(db.prisma, identifies);
  app = await buildApp(testConfig(db.url), { apiHitsFlushMs: 100 });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const qs = (query: Record<string, string | number>) =>
  new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();

describe('GET /api/stats', () => {
  it.each([
    ['no filters, UTC', {}],
    ['no filters, Asia/Kolkata (+05:30)', { tz: 'Asia/Kolkata' }],
    ['role, Asia/Kolkata', { role: 'ADMIN', tz: 'Asia/Kolkata' }],
    [
      'action and page prefix, Australia/Adelaide (+09:30/+10:30)',
      { action: 'click', page: '/docs/*', tz: 'Australia/Adelaide' },
    ],
    ['userId', { userId: 'User-0' }],
    [
      'time range not on day edges, +05:30',
      {
        from: '2026-03-03T07:45:00+05:30',
        to: '2026-03-17T21:10:00.5Z',
        tz: 'Asia/Kolkata',
      },
    ],
    [
      'everything',
      {
        role: 'USER',
        action: 'page_view',
        page: '/docs*',
        from: '2026-03-05T00:00:00Z',
        tz: 'Asia/Kolkata',
        top: 3,
      },
    ],
    ['userId and page', { userId: 'User-1', page: '/', top: 1 }],
    ['a user with no actions', { userId: 'User-39' }],
  ])('equals the raw-row computation: %s', async (_name, query: Record<string, string | number>) => {
    const res = await app.inject({ method: 'GET', url: `/api/stats?${qs(query)}` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const { tz = 'UTC', top = 10, from, to, ...rest } = query;
    const reference = await computeStatsFromRaw(
      db.pool,
      {
        ...rest,
        ...(from ? { from: new Date(String(from)) } : {}),
        ...(to ? { to: new Date(String(to)) } : {}),
      } as Record<string, never>,
      { tz: String(tz), topPages: Number(top) },
    );
    // API hits move while the test runs; everything else must be identical.
    expect({ ...body, apiHits: 0 }).toEqual({ ...reference, apiHits: 0 });
    if (!query.userId) expect(body.totalActions).toBeGreaterThan(0);
  });

  it('uses the zone for day boundaries (half-hour offset moves events to the next day)', async () => {
    const utc = (await app.inject({ method: 'GET', url: '/api/stats' })).json();
    const ist = (await app.inject({ method: 'GET', url: '/api/stats?tz=Asia/Kolkata' })).json();
    expect(utc.totalActions).toBe(records.length);
    expect(ist.totalActions).toBe(records.length);
    const sum = (d: { count: number }[]) => d.reduce((s, x) => s + x.count, 0);
    expect(sum(utc.daily)).toBe(records.length);
    expect(sum(ist.daily)).toBe(records.length);
    expect(ist.daily).not.toEqual(utc.daily);
    // Every day in the range is listed once, consecutive.
    for (let i = 1; i < ist.daily.length; i++) {
      expect(Date.parse(ist.daily[i].date) - Date.parse(ist.daily[i - 1].date)).toBe(86_400_000);
    }
  });

  it('reports the API hits of every service', async () => {
    for (let i = 0; i < 5; i++) await app.inject({ method: 'GET', url: '/api/facets?limit=1' });
    const stored = await waitFor(
      async () => ((await totalApiHits(db.pool)) >= 5 ? totalApiHits(db.pool) : false),
      {
        what: 'API hits flushed',
        timeoutMs: 10_000,
      },
    );
    const body = (await app.inject({ method: 'GET', url: '/api/stats' })).json();
    expect(body.apiHits).toBeGreaterThanOrEqual(stored);
  });

  it.each([
    ['tz', 'tz=Mars/Olympus_Mons'],
    ['tz', 'tz=UTC%2B3'],
    ['tz', "tz=Europe/Berlin'--"],
    ['tz', `tz=${'A/'.repeat(40)}`],
    ['top', 'top=0'],
    ['top', 'top=101'],
    ['from', 'from=2026-13-01T00:00:00Z'],
    ['to', 'from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z'],
    ['role', 'role=OWNER'],
    ['x', 'x=1'],
  ])('refuses a bad %s with 400', async (field, query) => {
    const res = await app.inject({ method: 'GET', url: `/api/stats?${query}` });
    expect(res.statusCode).toBe(400);
    expect(res.json().details.map((d: { path: string }) => d.path)).toContain(`querystring.${field}`);
  });

  it('says what a refused role may be, not the regular expression', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/stats?role=SUPERUSER' });
    expect(res.json().details).toEqual([
      { path: 'querystring.role', message: 'must be ADMIN, USER or GUEST (any case)' },
    ]);
  });

  it('accepts zone names in any case', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/stats?tz=asia/kolkata' });
    expect(res.statusCode).toBe(200);
  });
});

describe('GET /api/facets', () => {
  const counts = (key: (r: InteractionRecord) => string) => {
    const m = new Map<string, number>();
    for (const r of records) m.set(key(r), (m.get(key(r)) ?? 0) + 1);
    return m;
  };
  const ranked = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([value, count]) => ({ value, count }));

  it('lists users, roles, actions and pages with counts, most frequent first', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/facets?limit=500' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const users = counts((r) => r.userId);
    for (const u of USERS) if (!users.has(u)) users.set(u, 0);
    expect(body.users).toEqual(ranked(users));
    expect(body.actions).toEqual(ranked(counts((r) => r.action)));
    expect(body.pages).toEqual(ranked(counts((r) => r.page)));
    const { rows } = await db.pool.query<{ role: string; n: number }>(
      'SELECT role, count(*)::int AS n FROM users GROUP BY role',
    );
    expect(body.roles).toEqual(
      ranked(new Map(ROLES.map((role) => [role, rows.find((r) => r.role === role)?.n ?? 0]))),
    );
  });

  it('searches case-insensitively, prefix matches first, and bounds the lists', async () => {
    const docs = (await app.inject({ method: 'GET', url: '/api/facets?q=DOCS&facet=pages' })).json();
    expect(docs.users).toEqual([]);
    expect(docs.pages.map((p: { value: string }) => p.value).sort()).toEqual([
      '/Docs/upper',
      '/docs',
      '/docs/a',
      '/docs/b/c',
    ]);
    const user = (
      await app.inject({ method: 'GET', url: '/api/facets?q=user-3&facet=users&limit=500' })
    ).json();
    expect(user.users.map((u: { value: string }) => u.value).sort()).toEqual(
      USERS.filter((u) => u.toLowerCase().includes('user-3')).sort(),
    );
    const prefix = (await app.inject({ method: 'GET', url: '/api/facets?q=c&facet=actions' })).json();
    expect(prefix.actions[0].value).toBe('click');
    const few = (await app.inject({ method: 'GET', url: '/api/facets?limit=2' })).json();
    expect(few.users).toHaveLength(2);
    expect(few.pages).toHaveLength(2);
    const odd = (
      await app.inject({ method: 'GET', url: `/api/facets?q=${encodeURIComponent("%_'\\")}` })
    ).json();
    expect(odd).toEqual({ users: [], roles: [], actions: [], pages: [] });
  });

  it.each([
    ['limit', 'limit=501'],
    ['limit', 'limit=0'],
    ['q', `q=${'x'.repeat(257)}`],
    ['facet', 'facet=sessions'],
    ['other', 'other=1'],
  ])('refuses a bad %s with 400', async (field, query) => {
    const res = await app.inject({ method: 'GET', url: `/api/facets?${query}` });
    expect(res.statusCode).toBe(400);
    expect(res.json().details.map((d: { path: string }) => d.path)).toContain(`querystring.${field}`);
  });
});
