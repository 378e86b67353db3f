import type { Role } from '@tracker/schemas';
import { createTestDatabase, seededRandom, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET_ORIGIN_MS, CUM_PERIOD_DAYS } from '../aggregates/catalog.js';
import { reconcile } from '../aggregates/reconcile.js';
import { interactionRow } from '../aggregates/rows.harness.js';
import type { InteractionRow } from '../aggregates/rows.js';
import { storeInteractions } from '../aggregates/store.js';
import { computeStatsFromRaw } from '../testing/index.js';
import { computeStats } from './compute.js';
import type { InteractionFilters } from './types.js';

// Per-user counts over time ranges come from cumulative arrays per 128-day period (agg_user_cum),
// one element per half day.
// Here: events 20 days either side of a period boundary, stored out of order (late events land in
// the middle of existing arrays, others extend them, some users start a new period), then
// ranges that straddle the boundary, end or start on it, and cut days at either side of noon.
// Twice: at period 75's first day, and at the origin itself (2000-01-01: periods -1 and 0, days
// before it negative; any event before 2000 once failed the whole batch).

const DAY = 86_400_000;
const ROLES: Role[] = ['ADMIN', 'USER', 'GUEST'];

function generate(boundary: number, rand: () => number): InteractionRow[] {
  const rows: InteractionRow[] = [];
  for (let i = 0; i < 3000; i += 1) {
    // user-0..3 heavy throughout; user-4..19 only before the boundary; user-20..39 both sides
    const heavy = rand() < 0.3;
    const user = heavy ? Math.floor(rand() * 4) : 4 + Math.floor(rand() * 36);
    const oldOnly = user >= 4 && user < 20;
    const span = oldOnly ? [-20, 0] : [-20, 20];
    let occurredAt = boundary + Math.floor((span[0]! + rand() * (span[1]! - span[0]!)) * DAY);
    if (i % 41 === 0) occurredAt = boundary - 1; // the last instant of the old period
    if (i % 43 === 0 && !oldOnly) occurredAt = boundary; // the first of the new one
    rows.push(
      interactionRow(`user-${user}`, occurredAt, {
        role: ROLES[user % 3]!,
        action: rand() < 0.5 ? 'click' : 'page_view',
        page: '/p',
        offset: String(i),
      }),
    );
  }
  return rows;
}

const CASES = [
  { name: 'period 75 (2026-04-14)', period: 75 },
  { name: 'the origin (2000-01-01)', period: 0 },
];

describe.each(CASES)('per-user counts across agg_user_cum periods, at $name', ({ period }) => {
  const BOUNDARY = BUCKET_ORIGIN_MS + period * CUM_PERIOD_DAYS * DAY;
  const at = (days: number, hours = 0) => new Date(BOUNDARY + days * DAY + hours * 3_600_000);
  const rand = seededRandom(11);
  const rows = generate(BOUNDARY, rand);
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(`stats_periods_${period}`);
    // Half newest first (merges into the middle of existing arrays), then the rest in random order
    // (also extending arrays past their last day), in batches of 97.
    const newestFirst = rows.slice(0, 1500).sort((a, b) => b.occurredAt - a.occurredAt);
    const shuffled = rows.slice(1500).sort(() => rand() - 0.5);
    const ordered = [...newestFirst, ...shuffled];
    for (let i = 0; i < ordered.length; i += 97) {
      await db.prisma.$transaction((tx) => storeInteractions(tx, ordered.slice(i, i + 97)));
    }
  });

  afterAll(async () => db?.drop());

  const FILTERS: [string, InteractionFilters][] = [
    ['straddling, day-aligned', { from: at(-9), to: at(7) }],
    ['straddling, morning and evening cuts', { from: at(-9, 5.5), to: at(7, 19.25) }],
    ['straddling, evening and morning cuts', { from: at(-9, 20), to: at(7, 3) }],
    // agg_user_cum's steps are half days: ends on a step (noon), halfway between (06:00, 18:00)
    // and either side of noon, with the raw part before or after the step
    ['straddling, from noon to 06:00', { from: at(-9, 12), to: at(7, 6) }],
    ['straddling, from 18:00 to just after noon', { from: at(-9, 18), to: at(7, 12.01) }],
    ['straddling, just before noon to 17:59', { from: at(-9, 11.99), to: at(7, 17.98) }],
    ['ending on the boundary', { from: at(-15, 13), to: at(0) }],
    ['starting on the boundary', { from: at(0), to: at(12, 11) }],
    ['only the old period', { from: at(-19, 2), to: at(-3, 23) }],
    ['from only, before the boundary', { from: at(-2, 14) }],
    ['to only, after the boundary', { to: at(3, 9) }],
    ['shorter than a day across the boundary', { from: at(-1, 18), to: at(0, 6) }],
    ['one user across the boundary', { userId: 'user-1', from: at(-4, 16), to: at(4, 1) }],
    ['one user, shorter than a day', { userId: 'user-0', from: at(-1, 3), to: at(0, 2) }],
    ['a user of the old period only, after it', { userId: 'user-5', from: at(1) }],
    ['no time filter', {}],
  ];

  it('stores users of both periods, and reconcile finds the merged arrays exact', async () => {
    const { rows: periods } = await db.pool.query<{ period: number; users: number }>(
      'SELECT period, count(*)::int AS users FROM agg_user_cum GROUP BY period ORDER BY period',
    );
    expect(periods.map((p) => p.period)).toEqual([period - 1, period]);
    expect(periods[0]!.users).toBe(40);
    expect(periods[1]!.users).toBe(24); // user-0..3 and user-20..39
    expect((await reconcile(db.pool)).totalDifferences).toBe(0);
  });

  for (const [name, filters] of FILTERS) {
    it(`${name}: same as the raw rows`, async () => {
      const fast = await computeStats(db.pool, filters);
      const reference = await computeStatsFromRaw(db.pool, filters);
      expect(fast).toEqual(reference);
      // user-5 has nothing after the boundary: still in the population, with no matching action
      if (filters.userId === 'user-5') expect([fast.totalUsers, fast.usersWithActions]).toEqual([1, 0]);
      else if (filters.userId) expect(fast.usersWithActions).toBe(1);
      else expect(fast.usersWithActions).toBeGreaterThan(10);
    });
  }
});
