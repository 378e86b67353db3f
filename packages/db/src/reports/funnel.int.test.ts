// funnelAttempts (SQL over the real interactions table) against the definitions' oracle: for each
// definition, the users converted at every step, the median and p90 time from the previous step and
// the breakdown by the entry's role must be equal.
import { createTestDatabase, seededRandom, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interactionRow } from '../aggregates/rows.harness.js';
import type { InteractionRow } from '../aggregates/rows.js';
import { storeInteractions } from '../aggregates/store.js';
import { percentileDisc, type RawEvent, rawEventOf } from '../testing/reports/events.js';
import { funnel } from '../testing/reports/funnel.js';
import { type FunnelQuery, funnelAttempts } from './funnel.js';

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
  ['an exclusion step', { ...base, exclusion: { actions: ['cancel'] }, windowMs: 3 * DAY }],
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
];

describe('funnelAttempts', () => {
  it.each(CASES)('%s: equals the oracle', async (_name, def) => {
    const attempts = await funnelAttempts(db.pool, def);
    const expected = funnel(raw(), { ...def, steps: def.steps, unit: 'users' });
    const n = def.steps.length;
    for (let k = 0; k < n; k += 1) {
      const here = attempts.filter((a) => a.at.length > k);
      expect(here.map((a) => a.userId).sort(), `step ${k + 1}`).toEqual(expected.steps[k]!.converted);
      if (k === 0) continue;
      const gaps = here.map((a) => a.at[k]! - a.at[k - 1]!);
      expect(gaps.length > 0 ? percentileDisc(gaps, 0.5) : null).toBe(expected.steps[k]!.medianMs);
      expect(gaps.length > 0 ? percentileDisc(gaps, 0.9) : null).toBe(expected.steps[k]!.p90Ms);
    }
    const byRole = new Map<string, number[]>();
    for (const a of attempts) {
      const row = byRole.get(a.entryRole) ?? new Array<number>(n).fill(0);
      for (let k = 0; k < a.at.length; k += 1) row[k]! += 1;
      byRole.set(a.entryRole, row);
    }
    expect(byRole).toEqual(expected.byRole);
    // The data reaches past step 1 in every case (a funnel where nobody converts proves little).
    expect(expected.steps[1]!.count).toBeGreaterThan(0);
  });

  it('converts at the window edge to the millisecond, not 1 ms past it', async () => {
    const [edge] = (await funnelAttempts(db.pool, base)).filter((a) => a.userId === 'edge');
    expect(edge!.at).toEqual([T0, T0 + 6 * HOUR]);
  });
});
