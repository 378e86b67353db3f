// GET /api/sessions/stats on the real database: equal to the definitions' reference
// (@tracker/db/testing) for every filter; bad parameters are 400s naming the field.
import { type RawEvent, sessionStats, sessionsOf } from '@tracker/db/testing';
import type { TrackerApp } from '@tracker/http';
import type { InteractionRecord, Role } from '@tracker/schemas';
import { buildInteraction, seededRandom } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveRecords } from './query.harness.js';

const MIN = 60_000;
const rand = seededRandom(31);
const ROLES: Role[] = ['ADMIN', 'USER', 'GUEST'];
const START = Date.UTC(2026, 10, 1);
const KEY = 'read-key-0123456789abcdef';
// Gaps around the 30-minute rule, and a client session id now and then.
const GAPS = [10_000, 5 * MIN, 29 * MIN, 30 * MIN, 31 * MIN, 6 * 60 * MIN];

const records: InteractionRecord[] = [];
let served: Awaited<ReturnType<typeof serveRecords>> | undefined;
let app: TrackerApp;

beforeAll(async () => {
  for (let u = 0; u < 40; u += 1) {
    let t = START + Math.floor(rand() * 3 * 24 * 60 * MIN);
    for (let i = 0, n = 1 + Math.floor(rand() * 25); i < n; i += 1) {
      records.push(
        buildInteraction({
          userId: `user-${u}`,
          role: ROLES[Math.floor(rand() * 3)]!,
          action: rand() < 0.5 ? 'page_view' : 'click',
          page: ['/docs/a', '/docs/b', '/pricing', '/'][Math.floor(rand() * 4)]!,
          occurredAt: t,
          receivedAt: t + 10,
          ...(u % 5 === 0 ? { sessionId: `tab-${u}` } : {}),
        }),
      );
      t += GAPS[Math.floor(rand() * GAPS.length)]!;
    }
  }
  served = await serveRecords('query_sessions', records, { QUERY_READ_KEYS: KEY });
  app = served.app;
}, 120_000);

afterAll(async () => {
  await served?.close();
});

const get = (query: string, key: string | null = KEY) =>
  app.inject({
    method: 'GET',
    url: `/api/sessions/stats${query}`,
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
const sessions = () => sessionsOf(records.map((r) => ({ ...r, sessionId: r.sessionId ?? null })));
const top = <T>(list: T[], n = 10) => list.slice(0, n);

describe('GET /api/sessions/stats', () => {
  it('counts every session by default, equal to the reference', async () => {
    const res = await get('');
    expect(res.statusCode).toBe(200);
    const want = sessionStats(sessions());
    expect(res.json()).toEqual({ ...want, entryPages: top(want.entryPages), exitPages: top(want.exitPages) });
    expect(want.sessions).toBeGreaterThan(60);
    expect(want.bounceRate).toBeGreaterThan(0);
  });

  it.each([
    [
      'a time range',
      `?from=${new Date(START + 36 * 60 * MIN).toISOString()}&to=${new Date(START + 60 * 60 * MIN).toISOString()}`,
      { from: START + 36 * 60 * MIN, to: START + 60 * 60 * MIN },
    ],
    ['a role (any case)', '?role=user', { matches: (e: RawEvent) => e.role === 'USER' }],
    [
      'a page prefix and a role on one event',
      '?page=/docs/*&role=ADMIN',
      { matches: (e: RawEvent) => e.page.startsWith('/docs/') && e.role === 'ADMIN' },
    ],
    ['an exact page', '?page=/pricing', { matches: (e: RawEvent) => e.page === '/pricing' }],
    ['one user', '?userId=user-5', { matches: (e: RawEvent) => e.userId === 'user-5' }],
  ])('filters by %s, equal to the reference', async (_name, query, opts) => {
    const res = await get(`${query}&top=2`.replace(/^&/, '?'));
    expect(res.statusCode).toBe(200);
    const want = sessionStats(sessions(), opts);
    expect(res.json()).toEqual({
      ...want,
      entryPages: top(want.entryPages, 2),
      exitPages: top(want.exitPages, 2),
    });
    expect(want.sessions).toBeGreaterThan(0);
  });

  it.each([
    ['?top=0', 'querystring.top'],
    ['?top=101', 'querystring.top'],
    ['?role=owner', 'querystring.role'],
    ['?action=click', 'querystring.action'],
    ['?from=yesterday', 'querystring.from'],
    ['?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'querystring.to'],
  ])('%s is a 400 naming %s', async (query, path) => {
    const res = await get(query);
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json().details)).toContain(path);
  });

  it('needs the read key', async () => {
    expect((await get('', null)).statusCode).toBe(401);
  });
});
