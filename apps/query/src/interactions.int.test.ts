import type { TrackerApp } from '@tracker/http';
import type { InteractionRecord, Role } from '@tracker/schemas';
import { buildInteraction, createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { encodeCursor } from './cursor.js';
import { apiItem, storeRecords, testConfig } from './query.harness.js';

let db: TestDatabase;
let app: TrackerApp;
const records: InteractionRecord[] = [];

const BASE = Date.parse('2026-03-10T12:00:00.000Z');
const USERS = ['alice', 'bob', 'carol', "o'hara"];
const ROLES: Role[] = ['ADMIN', 'USER', 'GUEST'];
const ACTIONS = ['page_view', 'click', 'form_submit'];
const PAGES = ['/docs/intro', '/docs/api/keys', '/docsearch', '/pricing', '/'];

beforeAll(async () => {
  db = await createTestDatabase('query_list');
  // 90 rows over ~4 days; every third timestamp is shared by three rows (ties on occurred_at).
  for (let i = 0; i < 90; i++) {
    records.push(
      buildInteraction({
        userId: USERS[i % USERS.length]!,
        role: ROLES[i % ROLES.length]!,
        action: ACTIONS[i % ACTIONS.length]!,
        page: PAGES[i % PAGES.length]!,
        occurredAt: BASE - Math.floor(i / 3) * 3_600_000,
        receivedAt: BASE - Math.floor(i / 3) * 3_600_000 + 250,
        sessionId: i % 2 === 0 ? `s-${i % 5}` : null,
        properties: { i, even: i % 2 === 0, label: `n°${i} "q"` },
      }),
    );
  }
  await storeRecords(db.pool, records);
  app = await buildApp(testConfig(db.url));
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

/** The order the API promises: occurred_at desc, then event_id desc. */
const newestFirst = (a: InteractionRecord, b: InteractionRecord) =>
  b.occurredAt - a.occurredAt || (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0);

interface PageBody {
  items: { eventId: string }[];
  nextCursor: string | null;
  prevCursor: string | null;
  total?: number;
}

async function get(query: Record<string, string | number>) {
  const qs = new URLSearchParams(
    Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  return app.inject({ method: 'GET', url: `/api/interactions${qs ? `?${qs}` : ''}` });
}

async function all(query: Record<string, string | number>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await get({ ...query, limit: 500, ...(cursor ? { cursor } : {}) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    ids.push(...body.items.map((i: { eventId: string }) => i.eventId));
    cursor = body.nextCursor;
  } while (cursor);
  return ids;
}

const expected = (keep: (r: InteractionRecord) => boolean) =>
  records
    .filter(keep)
    .sort(newestFirst)
    .map((r) => r.eventId);

describe('GET /api/interactions', () => {
  it('lists every row newest first with all fields', async () => {
    const res = await get({ limit: 3 });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const top = [...records].sort(newestFirst).slice(0, 3);
    expect(body.items.map((i: { eventId: string }) => i.eventId)).toEqual(top.map((r) => r.eventId));
    const first = top[0]!;
    expect(body.items[0]).toEqual(apiItem(first));
    expect(body.prevCursor).toBeNull();
    expect(typeof body.nextCursor).toBe('string');
    expect(await all({})).toEqual(expected(() => true));
  });

  it.each([
    ['userId', { userId: "o'hara" }, (r: InteractionRecord) => r.userId === "o'hara"],
    ['role (any case)', { role: 'guest' }, (r: InteractionRecord) => r.role === 'GUEST'],
    ['action (any case)', { action: 'Form_Submit' }, (r: InteractionRecord) => r.action === 'form_submit'],
    ['page exact', { page: '/docs/intro' }, (r: InteractionRecord) => r.page === '/docs/intro'],
    ['page prefix', { page: '/docs/*' }, (r: InteractionRecord) => r.page.startsWith('/docs/')],
    ['page prefix without slash', { page: '/docs*' }, (r: InteractionRecord) => r.page.startsWith('/docs')],
    [
      'from inclusive, to exclusive',
      {
        from: new Date(BASE - 10 * 3_600_000).toISOString(),
        to: new Date(BASE - 2 * 3_600_000).toISOString(),
      },
      (r: InteractionRecord) => r.occurredAt >= BASE - 10 * 3_600_000 && r.occurredAt < BASE - 2 * 3_600_000,
    ],
    [
      'from with an offset',
      { from: '2026-03-10T10:30:00+05:30' },
      (r: InteractionRecord) => r.occurredAt >= Date.parse('2026-03-10T05:00:00Z'),
    ],
    [
      'everything combined',
      { userId: 'alice', page: '/docs/*', from: new Date(BASE - 20 * 3_600_000).toISOString() },
      (r: InteractionRecord) =>
        r.userId === 'alice' && r.page.startsWith('/docs/') && r.occurredAt >= BASE - 20 * 3_600_000,
    ],
    [
      'role and action',
      { role: 'ADMIN', action: 'page_view' },
      (r: InteractionRecord) => r.role === 'ADMIN' && r.action === 'page_view',
    ],
  ])('filters by %s', async (_name, query, keep) => {
    const want = expected(keep);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(records.length);
    expect(await all(query)).toEqual(want);
  });

  it('answers no rows (not an error) for values that match nothing, however odd', async () => {
    for (const userId of ["' OR 1=1 --", 'nobody', '%', '_']) {
      const res = await get({ userId });
      expect(res.statusCode).toBe(200);
      expect(res.json().items).toEqual([]);
    }
    expect((await get({ page: '%' })).json().items).toEqual([]);
    expect((await get({ page: '_docs/*' })).json().items).toEqual([]);
  });

  it('pages forward and back across ties in occurred_at, in the same order both ways', async () => {
    const forward: { ids: string[]; prev: string | null; next: string | null }[] = [];
    let cursor: string | null = null;
    do {
      const res: { statusCode: number; json(): PageBody } = await app.inject({
        method: 'GET',
        url: `/api/interactions?limit=7&page=${encodeURIComponent('/*')}${cursor ? `&cursor=${cursor}` : ''}`,
      });
      expect(res.statusCode).toBe(200);
      const body: PageBody = res.json();
      forward.push({
        ids: body.items.map((i: { eventId: string }) => i.eventId),
        prev: body.prevCursor,
        next: body.nextCursor,
      });
      cursor = body.nextCursor;
    } while (cursor);
    expect(forward.flatMap((p) => p.ids)).toEqual(expected(() => true));
    expect(forward.length).toBe(Math.ceil(records.length / 7));
    expect(forward[0]!.prev).toBeNull();
    expect(forward.at(-1)!.next).toBeNull();
    // Back from the last page: every prevCursor gives exactly the page before, newest first.
    for (let i = forward.length - 1; i > 0; i--) {
      const res = await app.inject({
        method: 'GET',
        url: `/api/interactions?limit=7&page=${encodeURIComponent('/*')}&cursor=${forward[i]!.prev}`,
      });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.items.map((x: { eventId: string }) => x.eventId)).toEqual(forward[i - 1]!.ids);
      expect(body.prevCursor === null).toBe(i - 1 === 0);
      expect(body.nextCursor).not.toBeNull();
      // …and its nextCursor leads forward to the same page again.
      const again = await app.inject({
        method: 'GET',
        url: `/api/interactions?limit=7&page=${encodeURIComponent('/*')}&cursor=${body.nextCursor}`,
      });
      expect(again.json().items.map((x: { eventId: string }) => x.eventId)).toEqual(forward[i]!.ids);
    }
  });

  it('refuses forged, garbled and foreign cursors with 400 at querystring.cursor', async () => {
    const first = (await get({ limit: 2 })).json();
    const fingerprint = Buffer.from(first.nextCursor, 'base64url').toString().split('.')[4]!;
    const forged = [
      'garbage',
      '!!!!',
      Buffer.from('c1.n.123').toString('base64url'),
      Buffer.from(`c1.x.1700000000000.${records[0]!.eventId}.${fingerprint}`).toString('base64url'),
      Buffer.from(`c1.n.99999999999999999.${records[0]!.eventId}.${fingerprint}`).toString('base64url'),
      Buffer.from(`c1.n.1700000000000.not-a-uuid.${fingerprint}`).toString('base64url'),
      Buffer.from(`c1.n.1700000000000.${records[0]!.eventId}'--.${fingerprint}`).toString('base64url'),
      Buffer.from(`c9.n.1700000000000.${records[0]!.eventId}.${fingerprint}`).toString('base64url'),
      Buffer.from('\u0000\u0001\u0002').toString('base64url'),
      'x'.repeat(200),
    ];
    for (const cursor of forged) {
      const res = await get({ cursor });
      expect(res.statusCode, cursor).toBe(400);
      expect(res.json().details).toEqual([{ path: 'querystring.cursor', message: expect.any(String) }]);
    }
    // Too long for the schema.
    const long = await get({ cursor: 'x'.repeat(201) });
    expect(long.statusCode).toBe(400);
    expect(long.json().details[0].path).toBe('querystring.cursor');
    // A genuine cursor used with other filters would skip or repeat rows.
    const foreign = await get({ cursor: first.nextCursor, userId: 'alice' });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().details[0].message).toMatch(/other filters/);
    // A well-formed cursor this API could have issued works.
    const made = encodeCursor({
      direction: 'next',
      occurredAt: new Date(BASE + 1),
      eventId: records[0]!.eventId,
      filters: fingerprint,
    });
    expect((await get({ cursor: made })).statusCode).toBe(200);
  });

  it.each([
    ['limit', { limit: 0 }],
    ['limit', { limit: 501 }],
    ['limit', { limit: 1e12 }],
    ['limit', { limit: '99999999999999999999999' }],
    ['limit', { limit: 'ten' }],
    ['from', { from: 'yesterday' }],
    ['from', { from: '2026-02-30T00:00:00Z' }],
    ['from', { from: '2026-01-01T00:00:00' }],
    ['to', { to: '2026-01-01' }],
    ['to', { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }],
    ['to', { from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }],
    ['role', { role: 'ROOT' }],
    ['action', { action: 'drop table' }],
    ['userId', { userId: 'x'.repeat(129) }],
    ['page', { page: `/${'x'.repeat(2048)}` }],
    ['bogus', { bogus: 1 }],
  ])('refuses a bad %s with 400 naming the field', async (field, query) => {
    const res = await get(query as Record<string, string | number>);
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body).toMatchObject({ status: 400 });
    expect(body.details.map((d: { path: string }) => d.path)).toContain(`querystring.${field}`);
  });

  it('refuses a parameter given twice', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/interactions?userId=a&userId=b' });
    expect(res.statusCode).toBe(400);
    expect(res.json().details[0].path).toBe('querystring.userId');
  });

  it('gives the total on the first page when an aggregate table counts the filters', async () => {
    const count = (keep: (r: InteractionRecord) => boolean) => records.filter(keep).length;
    expect((await get({ limit: 1 })).json().total).toBe(records.length);
    expect((await get({ limit: 1, userId: 'alice' })).json().total).toBe(count((r) => r.userId === 'alice'));
    expect((await get({ limit: 1, role: 'USER', page: '/docs/*' })).json().total).toBe(
      count((r) => r.role === 'USER' && r.page.startsWith('/docs/')),
    );
    const from = new Date(BASE - 30 * 3_600_000 + 1).toISOString();
    expect((await get({ limit: 1, action: 'click', from })).json().total).toBe(
      count((r) => r.action === 'click' && r.occurredAt >= Date.parse(from)),
    );
    // Not on later pages, and not when only raw rows could count (user + action + page).
    const first = (await get({ limit: 1 })).json();
    expect((await get({ limit: 1, cursor: first.nextCursor })).json()).not.toHaveProperty('total');
    expect((await get({ limit: 1, userId: 'alice', action: 'click', page: '/' })).json()).not.toHaveProperty(
      'total',
    );
  });

  it('caps the page at limit and defaults to 50', async () => {
    expect((await get({})).json().items).toHaveLength(50);
    expect((await get({ limit: 500 })).json().items).toHaveLength(records.length);
    expect((await get({ limit: 1 })).json().items).toHaveLength(1);
  });
});

describe('GET /api/interactions page prefix', () => {
  it('matches LIKE wildcards in the prefix literally', async () => {
    // Runs last: these rows are not in `records`.
    const odd = ['/odd_%/x', '/oddX%/y', '/odd_Z/z', '/odd_%'].map((page, i) =>
      buildInteraction({ userId: 'wildcard-user', page, occurredAt: BASE + (i + 1) * 1000 }),
    );
    await storeRecords(db.pool, odd);
    const pages = async (page: string) =>
      (await get({ page, limit: 500 })).json().items.map((i: { page: string }) => i.page);
    expect(await pages('/odd_%/*')).toEqual(['/odd_%/x']);
    expect(await pages('/odd_*')).toEqual(['/odd_%', '/odd_Z/z', '/odd_%/x']);
    expect(await pages('/odd\\*')).toEqual([]);
  });
});
