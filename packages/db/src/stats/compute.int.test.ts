import { randomUUID } from 'node:crypto';
import type { Role } from '@tracker/schemas';
import { buildInteraction, createTestDatabase, seededRandom, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildAggregates } from '../aggregates/rebuild.js';
import { reconcile } from '../aggregates/reconcile.js';
import type { IdentifyRow, InteractionRow } from '../aggregates/rows.js';
import { storeIdentifies, storeInteractions } from '../aggregates/store.js';
import { recordApiHits } from '../api-hits.js';
import { computeStatsFromRaw } from '../testing/index.js';
import { computeStats } from './compute.js';
import { StatsInputError } from './input.js';
import type { InteractionFilters } from './types.js';

// Generated data: 5 weeks around the US DST change (2026-03-08), 60 users (a few heavy ones, some
// changing role, some only identified), pages with a shared prefix, events on bucket edges.
const rand = seededRandom(7);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const START = Date.UTC(2026, 1, 20);
const SPAN = 36 * 86_400_000;
const ROLES: Role[] = ['ADMIN', 'USER', 'GUEST'];
const ACTIONS = ['page_view', 'click', 'form_submit', 'signup'];
const PAGES = ['/', '/docs', '/docs/a', '/docs/b/c', '/pricing', '/blog/x?ref=1'];
const USERS = Array.from({ length: 60 }, (_, i) => `user-${i}`);

function generate(): { track: InteractionRow[]; identify: IdentifyRow[] } {
  const track: InteractionRow[] = [];
  const roleOf = new Map(USERS.map((u) => [u, pick(ROLES)]));
  for (let i = 0; i < 4000; i += 1) {
    // user-0..2 are heavy, user-50..59 never act (only identified below)
    const user = rand() < 0.3 ? USERS[Math.floor(rand() * 3)]! : USERS[Math.floor(rand() * 50)]!;
    let occurredAt = START + Math.floor(rand() * SPAN);
    if (i % 50 === 0) occurredAt = Math.floor(occurredAt / 900_000) * 900_000; // exactly on a quarter edge
    if (i % 97 === 0) occurredAt = Math.floor(occurredAt / 86_400_000) * 86_400_000 - 1; // just before a UTC day
    if (rand() < 0.02) roleOf.set(user, pick(ROLES)); // role changes over time
    track.push({
      eventId: randomUUID(),
      userId: user,
      role: roleOf.get(user)!,
      action: pick(ACTIONS),
      page: pick(PAGES),
      occurredAt,
      receivedAt: occurredAt + 50,
      sessionId: null,
      properties: { i },
      userAgent: null,
      isBot: false,
      partition: 0,
      offset: String(i),
    });
  }
  const identify: IdentifyRow[] = USERS.filter((_, i) => i % 4 === 0 || i >= 50).map((userId, i) => ({
    eventId: randomUUID(),
    userId,
    role: pick(ROLES),
    traits: { plan: pick(['free', 'pro']), n: i },
    occurredAt: START + Math.floor(rand() * SPAN),
    receivedAt: START,
    partition: 0,
    offset: String(i),
  }));
  return { track, identify };
}

let db: TestDatabase;
const data = generate();

beforeAll(async () => {
  db = await createTestDatabase('stats');
  // In batches, with redeliveries: a batch's tail is sent again with the next batch.
  for (let i = 0; i < data.track.length; i += 500) {
    await db.prisma.$transaction((tx) =>
      storeInteractions(tx, data.track.slice(Math.max(0, i - 20), i + 500)),
    );
  }
  await storeIdentifies(db.prisma, data.identify.slice(0, 10));
  await storeIdentifies(db.prisma, data.identify);
  await recordApiHits(db.prisma, [{ batchId: randomUUID(), service: 'ingest', hits: 42 }]);
});

afterAll(async () => db?.drop());

const day = (d: number, h = 0, m = 0, ms = 0) =>
  new Date(START + d * 86_400_000 + h * 3_600_000 + m * 60_000 + ms);

const FILTERS: [string, InteractionFilters][] = [
  ['no filter', {}],
  ['heavy user', { userId: 'user-1' }],
  ['user without actions', { userId: 'user-55' }],
  ['unknown user', { userId: 'nobody' }],
  ['role ADMIN', { role: 'ADMIN' }],
  ['role GUEST', { role: 'GUEST' }],
  ['action', { action: 'click' }],
  ['page exact', { page: '/docs/a' }],
  ['page prefix', { page: '/docs/*' }],
  ['page prefix without match', { page: '/nothing/*' }],
  ['prefix not ending at a directory', { page: '/doc*' }],
  ['prefix of every page', { page: '*' }],
  ['root prefix', { page: '/*' }],
  ['from/to on UTC days', { from: day(3), to: day(17) }],
  ['from/to off bucket edges', { from: day(2, 7, 23, 456), to: day(20, 13, 1, 7) }],
  ['from only', { from: day(10, 5, 30) }],
  ['to only', { to: day(12, 18, 15) }],
  ['within one quarter', { from: day(5, 10, 1), to: day(5, 10, 14) }],
  [
    'Kathmandu local days',
    { from: new Date(Date.UTC(2026, 1, 24, 18, 15)), to: new Date(Date.UTC(2026, 2, 3, 18, 15)) },
  ],
  ['role + action', { role: 'USER', action: 'page_view' }],
  ['page + role', { page: '/docs/*', role: 'ADMIN' }],
  ['prefix + from/to', { page: '/docs/*', from: day(4, 1, 2, 3), to: day(30, 22, 45) }],
  ['action + from/to', { action: 'form_submit', from: day(1, 12), to: day(25, 0, 7) }],
  ['role + from/to', { role: 'GUEST', from: day(6), to: day(29, 3) }],
  ['user + page', { userId: 'user-2', page: '/pricing' }],
  ['user + from/to', { userId: 'user-0', from: day(3, 3, 3), to: day(33) }],
  ['user + role', { userId: 'user-1', role: 'ADMIN' }],
  [
    'everything',
    { userId: 'user-0', role: 'USER', action: 'click', page: '/docs/*', from: day(1), to: day(35) },
  ],
  ['empty range', { from: day(9), to: day(9) }],
];
const ZONES = ['UTC', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu'];

describe('computeStats equals computeStatsFromRaw on generated data', () => {
  for (const [name, filters] of FILTERS) {
    it(`${name}, in every zone`, async () => {
      for (const tz of ZONES) {
        const fast = await computeStats(db.pool, filters, { tz, topPages: 3 });
        const reference = await computeStatsFromRaw(db.pool, filters, { tz, topPages: 3 });
        expect({ tz, ...fast }).toEqual({ tz, ...reference });
      }
    });
  }

  it('has real data behind the comparisons (not all zeros)', async () => {
    const all = await computeStats(db.pool, {});
    expect(all.totalActions).toBe(4000);
    expect(all.totalUsers).toBe(60); // 50 active + 10 only identified
    expect(all.usersWithActions).toBe(50);
    expect(all.gini).toBeGreaterThan(0.3);
    expect(all.apiHits).toBe(42);
    expect(all.daily.length).toBeGreaterThanOrEqual(36);
    const prefix = await computeStats(db.pool, { page: '/docs/*' });
    expect(prefix.pageRanking.map((p) => p.page).sort()).toEqual(['/docs/a', '/docs/b/c']);
    const kathmandu = await computeStats(db.pool, {}, { tz: 'Asia/Kathmandu' });
    expect(kathmandu.daily.map((d) => d.count)).not.toEqual(all.daily.map((d) => d.count));
    expect(kathmandu.daily.reduce((s, d) => s + d.count, 0)).toBe(4000);
  });

  it('fills gaps with zero days and lists every role', async () => {
    const s = await computeStats(db.pool, { userId: 'user-55', from: day(1), to: day(4) });
    expect(s.daily).toEqual([
      { date: '2026-02-21', count: 0 },
      { date: '2026-02-22', count: 0 },
      { date: '2026-02-23', count: 0 },
    ]);
    expect(s.roleDistribution.map((r) => r.role)).toEqual(['ADMIN', 'USER', 'GUEST']);
    // Known without actions: in the population (no `to`, so first_seen does not matter), no days.
    const all = await computeStats(db.pool, { userId: 'user-55' });
    expect([all.totalUsers, all.usersWithActions, all.totalActions, all.gini, all.daily]).toEqual([
      1,
      0,
      0,
      0,
      [],
    ]);
    expect(all.roleDistribution.reduce((sum, r) => sum + r.users, 0)).toBe(1);
  });

  it('refuses unknown time zones and bad options', async () => {
    await expect(computeStats(db.pool, {}, { tz: 'Mars/Olympus' })).rejects.toBeInstanceOf(StatsInputError);
    await expect(computeStats(db.pool, {}, { tz: 'UTC+3' })).rejects.toBeInstanceOf(StatsInputError);
    await expect(computeStats(db.pool, {}, { topPages: 0 })).rejects.toMatchObject({ field: 'topPages' });
    await expect(computeStats(db.pool, { from: new Date(Number.NaN) })).rejects.toMatchObject({
      field: 'from',
    });
    const s = await computeStats(db.pool, {}, { tz: 'asia/kolkata' });
    expect(s.totalActions).toBe(4000);
  });
});

describe('reconcile', () => {
  it('finds no difference after incremental updates with redeliveries', async () => {
    const result = await reconcile(db.pool);
    expect(result.totalDifferences).toBe(0);
    expect(result.differences).toEqual([]);
    expect(result.tables.find((t) => t.table === 'agg_time_action_15m')!.rows).toBeGreaterThan(1000);
    expect(result.tables.find((t) => t.table === 'agg_user_hist')!.rows).toBeGreaterThan(50);
  });

  it('reports each kind of corruption, and a rebuild repairs it', async () => {
    await db.pool.query(
      `UPDATE agg_time_action_15m SET n = n + 1 WHERE (bucket, role, action) =
         (SELECT bucket, role, action FROM agg_time_action_15m ORDER BY bucket, role, action LIMIT 1)`,
    );
    await db.pool.query(
      `UPDATE agg_user_hist SET users = users + 1 WHERE (dim, key, n) =
         (SELECT dim, key, n FROM agg_user_hist WHERE dim = 'action' AND users > 0 ORDER BY key, n LIMIT 1)`,
    );
    await db.pool.query(
      `UPDATE agg_population SET users = users - 1 WHERE (event_role, user_role) =
         (SELECT event_role, user_role FROM agg_population WHERE users > 1 ORDER BY 1, 2 LIMIT 1)`,
    );
    await db.pool.query(`DELETE FROM agg_user_page WHERE user_id = 'user-3' AND page = '/pricing'`);
    await db.pool.query(
      `INSERT INTO agg_page_action (page, role, action, n) VALUES ('/ghost', 'USER', 'click', 1)`,
    );
    await db.pool.query(
      `UPDATE users SET role = (CASE WHEN role = 'ADMIN' THEN 'GUEST' ELSE 'ADMIN' END)::"Role",
              action_count = action_count + 2 WHERE user_id = 'user-5'`,
    );
    const result = await reconcile(db.pool);
    const tables = result.differences.map((d) => `${d.table}.${d.column}`).sort();
    expect(tables).toEqual([
      'agg_page_action.n',
      'agg_population.users',
      'agg_time_action_15m.n',
      'agg_user_hist.users',
      'agg_user_page.n',
      'users.action_count',
      'users.role',
    ]);
    expect(result.totalDifferences).toBe(6);
    expect(result.differences.find((d) => d.table === 'agg_page_action')).toMatchObject({
      key: { page: '/ghost', role: 'USER', action: 'click' },
      stored: 1,
      expected: null,
    });
    expect(result.differences.find((d) => d.table === 'agg_user_page')).toMatchObject({ stored: null });
    const limited = await reconcile(db.pool, { limit: 2 });
    expect(limited.differences).toHaveLength(2);
    expect(limited.totalDifferences).toBe(6);

    await rebuildAggregates(db.pool);
    expect((await reconcile(db.pool)).totalDifferences).toBe(0);
    expect(await computeStats(db.pool, { page: '/docs/*' }, { tz: 'Asia/Kathmandu' })).toEqual(
      await computeStatsFromRaw(db.pool, { page: '/docs/*' }, { tz: 'Asia/Kathmandu' }),
    );
  });
});

describe('daily series edge cases', () => {
  let edges: TestDatabase;
  const row = (occurredAt: number, i: number): InteractionRow => ({
    ...buildInteraction({ userId: `edge-${i % 2}`, role: 'USER', action: 'click', page: '/e', occurredAt }),
    receivedAt: occurredAt,
    partition: 0,
    offset: String(i),
  });
  const times = [
    '2026-10-31T12:00:00Z',
    '2026-11-01T04:30:00Z', // 00:30 CDT in Havana: the first of the two local midnights was 04:00Z
    '2026-11-01T12:00:00Z',
    '2026-11-02T03:00:00Z',
  ].map((t) => Date.parse(t));

  beforeAll(async () => {
    edges = await createTestDatabase('stats_daily_edges');
    await edges.prisma.$transaction((tx) =>
      storeInteractions(
        tx,
        times.map((t, i) => row(t, i)),
      ),
    );
  });
  afterAll(async () => edges?.drop());

  it('starts a day at the first of two local midnights (America/Havana, clocks back at 01:00)', async () => {
    for (const filters of [
      {},
      { from: new Date('2026-10-31T04:00:00Z'), to: new Date('2026-11-03T05:00:00Z') },
    ]) {
      const fast = await computeStats(edges.pool, filters, { tz: 'America/Havana' });
      expect(fast).toEqual(await computeStatsFromRaw(edges.pool, filters, { tz: 'America/Havana' }));
      expect(fast.daily.find((d) => d.date === '2026-11-01')).toEqual({ date: '2026-11-01', count: 3 }); // 03:00Z on the 2nd is 22:00 CST
      expect(fast.daily.reduce((s, d) => s + d.count, 0)).toBe(4);
    }
  });

  it('without from, covers the last 3 700 days of data that spans more, instead of refusing', async () => {
    await edges.prisma.$transaction((tx) =>
      storeInteractions(tx, [row(Date.parse('2000-01-01T00:00:00Z'), 9)]),
    );
    const all = await computeStats(edges.pool, {});
    expect(all.totalActions).toBe(5); // the totals count everything
    expect(all.daily).toHaveLength(3700);
    expect(all.daily.at(-1)).toEqual({ date: '2026-11-02', count: 1 });
    expect(all.daily.reduce((s, d) => s + d.count, 0)).toBe(4);
    expect(all).toEqual(await computeStatsFromRaw(edges.pool, {}));
    const to = { to: new Date('2026-11-01T00:00:00Z') };
    expect(await computeStats(edges.pool, to)).toEqual(await computeStatsFromRaw(edges.pool, to));
    // An event on the last day JavaScript and PostgreSQL share (stored by other tooling): the
    // bucket after it is in year 10000, which must reach PostgreSQL in a form it reads.
    await edges.prisma.$transaction((tx) =>
      storeInteractions(tx, [row(Date.parse('9999-12-31T12:00:00Z'), 11)]),
    );
    const late = await computeStats(edges.pool, {});
    expect(late.totalActions).toBe(6);
    expect(late.daily.at(-1)).toEqual({ date: '9999-12-31', count: 1 });
    expect(late).toEqual(await computeStatsFromRaw(edges.pool, {}));
    const one = { userId: 'edge-1', from: new Date('9999-12-30T00:00:00Z') };
    expect(await computeStats(edges.pool, one)).toEqual(await computeStatsFromRaw(edges.pool, one));
    // Asked for explicitly, a longer series is still refused, naming from.
    await expect(computeStats(edges.pool, { from: new Date('2000-01-01T00:00:00Z') })).rejects.toMatchObject({
      field: 'from',
    });
  });
});

describe('daily series where clocks go back three hours', () => {
  it('starts a day at the first of two local midnights three hours apart (Antarctica/Casey, 2010-03-05)', async () => {
    // Clocks went from +11 back to +8 at 02:00 local (15:00Z): midnight of the 5th was 13:00Z and 16:00Z.
    const casey = ['2010-03-04T12:00:00Z', '2010-03-04T14:00:00Z', '2010-03-04T17:00:00Z'].map((t) =>
      Date.parse(t),
    );
    const db = await createTestDatabase('stats_daily_casey');
    try {
      await db.prisma.$transaction((tx) =>
        storeInteractions(
          tx,
          casey.map((t, i) => ({
            ...buildInteraction({
              userId: `casey-${i}`,
              role: 'USER',
              action: 'click',
              page: '/c',
              occurredAt: t,
            }),
            receivedAt: t,
            partition: 0,
            offset: String(i),
          })),
        ),
      );
      const filters = { from: new Date('2010-03-03T16:00:00Z'), to: new Date('2010-03-06T16:00:00Z') };
      const fast = await computeStats(db.pool, filters, { tz: 'Antarctica/Casey' });
      expect(fast.daily).toEqual([
        { date: '2010-03-04', count: 1 },
        { date: '2010-03-05', count: 2 }, // 01:00 at +11 and 01:00 at +8
        { date: '2010-03-06', count: 0 },
      ]);
      expect(fast).toEqual(await computeStatsFromRaw(db.pool, filters, { tz: 'Antarctica/Casey' }));
    } finally {
      await db.drop();
    }
  });
});
