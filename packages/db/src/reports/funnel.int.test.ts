// funnelAttempts (SQL over the real interactions and sessions tables) and funnelReport against the
// definitions' oracle: for each definition, every step's numbers, the units converted and dropped at
// every step and the breakdowns by the entry's day and role must be equal.
import { createTestDatabase, seededRandom, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interactionRow } from '../aggregates/rows.harness.js';
import type { InteractionRow } from '../aggregates/rows.js';
import { storeInteractions } from '../aggregates/store.js';
import { type RawEvent, rawEventOf } from '../testing/reports/events.js';
import { funnel } from '../testing/reports/funnel.js';
import { type FunnelQuery, funnelAttempts } from './funnel.js';
import { funnelReport, funnelUnits } from './funnel-report.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 2, 9, 0);
const ROLES = ['GUEST', 'USER', 'ADMIN'] as const;

let db: TestDatabase;
const rows: InteractionRow[] = [];

beforeAll(async () => {
  db = await createTestDatabase('funnel');
  const rnd = seededRandom(7);
  const actions = ['a', 'b', 'c', 'a', 'b', 'noise', 'cancel'];
  for (let u = 0; u < 60; u += 1) {
    let t = T0 + Math.floor(rnd() * 3 * DAY);
    let role = ROLES[u % 3]!;
    const n = 2 + Math.floor(rnd() * 14);
    for (let i = 0; i < n; i += 1) {
      t += [0, 1, MIN, HOUR, 6 * HOUR, 2 * DAY][Math.floor(rnd() * 6)]!;
      if (rnd() < 0.1) role = ROLES[Math.floor(rnd() * 3)]!; // the role changes inside the funnel
      rows.push(
        interactionRow(`user-${String(u).padStart(2, '0')}`, t, {
          action: actions[Math.floor(rnd() * actions.length)]!,
          page: ['/shop/cart', '/shop/pay', '/docs'][Math.floor(rnd() * 3)]!,
          role,
        }),
      );
    }
  }
  // The window's edge to the millisecond: b exactly 6 h after a converts, c 1 ms later does not.
  rows.push(interactionRow('edge', T0, { action: 'a' }));
  rows.push(interactionRow('edge', T0 + 6 * HOUR, { action: 'b' }));
  rows.push(interactionRow('edge', T0 + 6 * HOUR + 1, { action: 'c' }));
  // Any order needs a matching, not a greedy pass: a fills "a or b" first, and only moving it to "a"
  // lets the later b fill "a or b".
  rows.push(interactionRow('swap', T0 + HOUR, { action: 'a' }));
  rows.push(interactionRow('swap', T0 + HOUR + MIN, { action: 'b' }));
  // A session that began before the case 'sessions, from inside sessions' starts: its second a enters.
  for (const [m, action] of [
    [0, 'a'],
    [10, 'a'],
    [20, 'b'],
    [30, 'c'],
  ] as const)
    rows.push(interactionRow('span', T0 + DAY + 3 * HOUR + m * MIN, { action }));
  await db.prisma.$transaction((tx) => storeInteractions(tx, rows), { timeout: 60_000 });
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

const raw = (): RawEvent[] => rows.map(rawEventOf);

const base: FunnelQuery = {
  steps: [{ actions: ['a'] }, { actions: ['b'] }, { actions: ['c'] }],
  order: 'sequential',
  windowMs: 6 * HOUR,
  entry: 'first',
  from: T0,
  to: T0 + 4 * DAY,
};

const CASES: [string, FunnelQuery][] = [
  ['sequential, first entry', base],
  ['sequential, best attempt', { ...base, entry: 'best' }],
  ['strict order', { ...base, order: 'strict' }],
  ['strict order, best attempt', { ...base, order: 'strict', entry: 'best' }],
  ['any order', { ...base, order: 'any' }],
  [
    'any order, best attempt, a step done twice',
    {
      ...base,
      order: 'any',
      entry: 'best',
      steps: [{ actions: ['a'] }, { actions: ['a'] }, { actions: ['b'] }],
    },
  ],
  [
    'any order, first entry, a step done twice',
    { ...base, order: 'any', steps: [{ actions: ['a'] }, { actions: ['b'] }, { actions: ['a'] }] },
  ],
  [
    'any order, overlapping steps',
    { ...base, order: 'any', steps: [{ actions: ['a', 'b'] }, { actions: ['a'] }] },
  ],
  ['an exclusion step', { ...base, exclusion: { actions: ['cancel'] }, windowMs: 3 * DAY }],
  [
    'any order with an exclusion',
    { ...base, order: 'any', exclusion: { actions: ['cancel'] }, windowMs: 3 * DAY },
  ],
  ['a step done twice', { ...base, steps: [{ actions: ['a'] }, { actions: ['a'] }, { actions: ['b'] }] }],
  [
    'any-of actions, page prefix and role filters',
    {
      ...base,
      steps: [
        { actions: ['a', 'noise'], page: { value: '/shop/', prefix: true } },
        { actions: ['b'], role: 'USER' },
        { actions: ['c'], page: { value: '/shop/pay', prefix: false } },
      ],
      windowMs: 2 * DAY,
      entry: 'best',
    },
  ],
  ['a 30-day window over every entry', { ...base, windowMs: 30 * DAY, from: 0, to: T0 + 30 * DAY }],
  ['sessions as the unit', { ...base, unit: 'sessions', windowMs: 2 * DAY }],
  [
    'sessions, strict, best',
    { ...base, unit: 'sessions', order: 'strict', entry: 'best', windowMs: 2 * DAY },
  ],
  ['sessions, any order', { ...base, unit: 'sessions', order: 'any', windowMs: 2 * DAY }],
  // Only the sessions overlapping [from, to + window] are joined: user span's began before `from`.
  [
    'sessions, from inside sessions',
    { ...base, unit: 'sessions', from: T0 + DAY + 3 * HOUR + 5 * MIN, to: T0 + 2 * DAY, windowMs: 2 * DAY },
  ],
  ['by entry day in Asia/Kolkata', { ...base, windowMs: 2 * DAY, tz: 'Asia/Kolkata' }],
  ['one user', { ...base, windowMs: 30 * DAY, from: 0, to: T0 + 30 * DAY, userId: 'user-04' }],
  // Entries: whole UTC days only (the per-day table alone), inside one day (raw rows alone), and any order.
  ['whole UTC days', { ...base, from: T0 - 9 * HOUR, to: T0 + 2 * DAY - 9 * HOUR }],
  ['inside one UTC day', { ...base, from: T0, to: T0 + 10 * HOUR }],
  // Later steps of any of several actions, one also step 1's.
  [
    'later steps of any of several actions',
    {
      ...base,
      steps: [{ actions: ['a'] }, { actions: ['b', 'noise'] }, { actions: ['c', 'a'] }],
      windowMs: DAY,
    },
  ],
  [
    'any order over whole UTC days',
    { ...base, order: 'any', from: T0 - 9 * HOUR, to: T0 + 2 * DAY - 9 * HOUR },
  ],
];

const isoDay = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);

describe('funnelAttempts and funnelReport', () => {
  it.each(CASES)('%s: equals the oracle', async (_name, def) => {
    const attempts = await funnelAttempts(db.pool, def);
    const events = raw().filter((e) => def.userId === undefined || e.userId === def.userId);
    const expected = funnel(events, { ...def, steps: def.steps, unit: def.unit ?? 'users' });
    const n = def.steps.length;
    const report = funnelReport(attempts, n);
    expect(report.steps).toEqual(expected.steps.map(({ converted: _c, dropped: _d, ...stats }) => stats));
    for (let k = 0; k < n; k += 1) {
      const units = (status: 'converted' | 'dropped') =>
        funnelUnits(attempts, k, status).units.map((a) => a.unit);
      expect(units('converted'), `step ${k + 1} converted`).toEqual(expected.steps[k]!.converted);
      expect(units('dropped'), `step ${k + 1} dropped`).toEqual(expected.steps[k]!.dropped);
    }
    expect(new Map(report.byRole.map((r) => [r.role, r.counts]))).toEqual(expected.byRole);
    expect(report.byEntryDay).toEqual(
      [...expected.byEntryDay]
        .sort(([a], [b]) => a - b)
        .map(([day, counts]) => ({ day: isoDay(day), counts })),
    );
    // The data reaches past step 1 in every case (a funnel where nobody converts proves little).
    expect(expected.steps[1]!.count).toBeGreaterThan(0);
  });

  it('converts at the window edge to the millisecond, not 1 ms past it', async () => {
    const [edge] = (await funnelAttempts(db.pool, base)).filter((a) => a.userId === 'edge');
    expect(edge!.at).toEqual([T0, T0 + 6 * HOUR]);
  });

  it('reads the entries of whole UTC days from agg_user_action_first_1d, the partial days from raw rows', async () => {
    const dayStart = (t: number) => Math.floor(t / DAY) * DAY;
    const withTable = await funnelAttempts(db.pool, base);
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM agg_user_action_first_1d');
      const without = await funnelAttempts(client, base);
      // What is left entered on the range's first or last (partial) UTC day: those come from raw rows.
      const edgeDays = new Set([dayStart(base.from), dayStart(base.to)]);
      expect(without.length).toBeGreaterThan(0);
      expect(without.every((a) => edgeDays.has(dayStart(a.at[0]!)))).toBe(true);
      expect(withTable.some((a) => !edgeDays.has(dayStart(a.at[0]!)))).toBe(true);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('reads entries from raw rows only when retention dropped raw rows after `from`', async () => {
    const expected = await funnelAttempts(db.pool, base);
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM agg_user_action_first_1d');
      await client.query('UPDATE raw_retention SET raw_from = $1', [new Date(base.from - DAY)]);
      expect((await funnelAttempts(client, base)).length).toBeLessThan(expected.length);
      await client.query('UPDATE raw_retention SET raw_from = $1', [new Date(base.from + 1)]);
      const raw = await funnelAttempts(client, base);
      expect(raw.map((a) => [a.unit, a.at])).toEqual(expected.map((a) => [a.unit, a.at]));
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('any order matches events to steps as a whole, not greedily', async () => {
    const attempts = await funnelAttempts(db.pool, {
      ...base,
      order: 'any',
      steps: [{ actions: ['a', 'b'] }, { actions: ['a'] }],
    });
    expect(attempts.find((a) => a.unit === 'swap')?.at).toEqual([T0 + HOUR, T0 + HOUR + MIN]);
  });

  it('pages the units of a step by keyset', async () => {
    const attempts = await funnelAttempts(db.pool, {
      ...base,
      windowMs: 30 * DAY,
      from: 0,
      to: T0 + 30 * DAY,
    });
    const all = funnelUnits(attempts, 0, 'converted').units.map((a) => a.unit);
    const first = funnelUnits(attempts, 0, 'converted', { limit: 10 });
    const second = funnelUnits(attempts, 0, 'converted', { limit: 10, after: first.units.at(-1)!.unit });
    expect(first.more).toBe(true);
    expect([...first.units, ...second.units].map((a) => a.unit)).toEqual(all.slice(0, 20));
    expect(funnelUnits(attempts, 0, 'dropped').units).toEqual([]);
  });
});
