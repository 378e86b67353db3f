// retentionTable (SQL over the real interactions table) against the definitions' oracle: whole
// tables (sizes, cells, nulls, the partial period, the weighted mean) must be equal, in several time
// zones, periods and modes.
import { createTestDatabase, seededRandom, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interactionRow } from '../aggregates/rows.harness.js';
import type { InteractionRow } from '../aggregates/rows.js';
import { storeInteractions } from '../aggregates/store.js';
import { periodIndex, rawEventOf } from '../testing/reports/events.js';
import { retention } from '../testing/reports/retention.js';
import { periodStartDate, type RetentionQuery, retentionTable } from './retention-table.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 7, 3); // Monday 2026-08-03

let db: TestDatabase;
const rows: InteractionRow[] = [];

beforeAll(async () => {
  db = await createTestDatabase('retention_table');
  const rnd = seededRandom(12);
  for (let u = 0; u < 80; u += 1) {
    let t = T0 + Math.floor(rnd() * 40 * DAY);
    const n = 1 + Math.floor(rnd() * 12);
    for (let i = 0; i < n; i += 1) {
      // Hours near midnight in every zone below, and gaps of days to weeks.
      t += Math.floor(rnd() * 9 * DAY) + (rnd() < 0.3 ? 30 * 60_000 : 0);
      rows.push(
        interactionRow(`u${u}`, t, {
          action: ['signup', 'visit', 'buy'][Math.floor(rnd() * 3)]!,
          page: ['/a', '/b'][Math.floor(rnd() * 2)]!,
        }),
      );
    }
  }
  // Start events inside the partial quarter-hours at the ends of the Kathmandu case's range (and one
  // just after it, in the same quarter-hour), which the activity aggregates cannot tell apart.
  for (const [user, t] of [
    ['edge-a', T0 + 3 * DAY + 8 * 60_000],
    ['edge-b', T0 + 40 * DAY + 5 * 60_000],
    ['edge-c', T0 + 40 * DAY + 12 * 60_000],
  ] as const) {
    rows.push(
      interactionRow(user, t, { action: 'signup' }),
      interactionRow(user, t + 2 * DAY, { action: 'buy' }),
    );
  }
  await db.prisma.$transaction((tx) => storeInteractions(tx, rows), { timeout: 60_000 });
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

const base: RetentionQuery = {
  period: 'week',
  tz: 'UTC',
  cohort: 'first',
  mode: 'on',
  from: T0,
  to: T0 + 63 * DAY,
  periods: 8,
  now: T0 + 60 * DAY + 5 * HOUR,
};

const CASES: [string, RetentionQuery][] = [
  ['weekly, first time, any event', base],
  ['weekly, signup then buy', { ...base, start: { actions: ['signup'] }, return: { actions: ['buy'] } }],
  [
    'daily in Asia/Kolkata, recurring',
    { ...base, period: 'day', tz: 'Asia/Kolkata', cohort: 'recurring', periods: 12 },
  ],
  ['weekly in America/New_York, on or after', { ...base, tz: 'America/New_York', mode: 'onOrAfter' }],
  [
    'monthly in Asia/Tokyo, page filter',
    {
      ...base,
      period: 'month',
      tz: 'Asia/Tokyo',
      periods: 3,
      return: { actions: ['visit'], page: { value: '/a', prefix: false } },
    },
  ],
  [
    'daily in Asia/Kathmandu (+5:45), recurring signup or visit, range ends inside quarter-hours',
    {
      ...base,
      period: 'day',
      tz: 'Asia/Kathmandu',
      cohort: 'recurring',
      periods: 10,
      start: { actions: ['signup', 'visit'] },
      return: { actions: ['buy', 'visit'] },
      from: T0 + 3 * DAY + 7 * 60_000 + 123,
      to: T0 + 40 * DAY + 11 * 60_000 + 1,
    },
  ],
  [
    'weekly in America/St_Johns (-3:30), first buy, on or after',
    { ...base, tz: 'America/St_Johns', start: { actions: ['buy'] }, mode: 'onOrAfter' },
  ],
  [
    'weekly, recurring, a role on the start (raw rows)',
    { ...base, cohort: 'recurring', start: { role: 'GUEST' }, from: T0 + 5 * DAY + 1 },
  ],
  [
    'a range in the middle, now inside it',
    { ...base, from: T0 + 10 * DAY, to: T0 + 30 * DAY, now: T0 + 25 * DAY },
  ],
];

describe('retentionTable', () => {
  it.each(CASES)('%s: equals the oracle', async (_name, def) => {
    const { rows: table, mean } = await retentionTable(db.pool, def);
    const got = { rows: table, mean };
    const expected = retention(rows.map(rawEventOf), { ...def, from: def.from! });
    expect(got).toEqual(expected);
    expect(got.rows.length).toBeGreaterThan(1);
    expect(got.rows.some((r) => r.cells.slice(1).some((c) => c !== null && c > 0))).toBe(true);
  });

  it('answers action-only steps from the activity aggregates, which outlive raw rows', async () => {
    expect(await retentionTable(db.pool, { ...base, raw: true })).toEqual(
      await retentionTable(db.pool, base),
    );
    const client = await db.pool.connect();
    try {
      const before = await retentionTable(client, { ...base, cohort: 'recurring' });
      await client.query('BEGIN');
      await client.query('DELETE FROM interactions');
      expect(await retentionTable(client, { ...base, cohort: 'recurring' })).toEqual(before);
      expect(await retentionTable(client, { ...base, start: { actions: ['signup'] } })).toEqual(
        await retentionTable(db.pool, { ...base, start: { actions: ['signup'] } }),
      );
      // A page on a step needs raw rows, and `raw` asks for them: with none left, no cohort.
      const raw = await retentionTable(client, { ...base, start: { page: { value: '/a', prefix: false } } });
      expect(raw.rows).toEqual([]);
      expect((await retentionTable(client, { ...base, raw: true })).rows).toEqual([]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('a recurring range inside one quarter-hour (no whole quarter-hour: raw rows) equals the oracle', async () => {
    const def: RetentionQuery = {
      ...base,
      cohort: 'recurring',
      start: { actions: ['signup'] },
      return: { actions: ['buy'] },
      from: T0 + 3 * DAY + 7 * 60_000,
      to: T0 + 3 * DAY + 14 * 60_000,
    };
    const { rows: table, mean } = await retentionTable(db.pool, def);
    expect({ rows: table, mean }).toEqual(retention(rows.map(rawEventOf), { ...def, from: def.from! }));
    expect(table.map((t) => t.size)).toEqual([1]);
  });

  it('answers an empty table when no cohort falls in the range', async () => {
    const got = await retentionTable(db.pool, { ...base, from: T0 - 20 * DAY, to: T0 - 10 * DAY });
    expect(got).toEqual({ rows: [], mean: new Array(9).fill(null), from: T0 - 20 * DAY });
  });

  it('starts by default `periods` periods before the end of the range, at a local period start; one user alone', async () => {
    const now = Date.UTC(2026, 8, 16, 20); // Wednesday 2026-09-16 20:00 UTC = Thursday 05:00 in Tokyo
    const weekly = await retentionTable(db.pool, {
      ...base,
      from: undefined,
      to: now,
      now,
      tz: 'Asia/Tokyo',
      periods: 2,
    });
    expect(new Date(weekly.from).toISOString()).toBe('2026-08-30T15:00:00.000Z'); // Monday 08-31 00:00 Tokyo
    const monthly = await retentionTable(db.pool, {
      ...base,
      from: undefined,
      to: now,
      now,
      period: 'month',
      periods: 1,
    });
    expect(new Date(monthly.from).toISOString()).toBe('2026-08-01T00:00:00.000Z');
    const daily = await retentionTable(db.pool, {
      ...base,
      from: undefined,
      to: now,
      now,
      period: 'day',
      periods: 3,
    });
    expect(new Date(daily.from).toISOString()).toBe('2026-09-13T00:00:00.000Z');
    const one = await retentionTable(db.pool, { ...base, userId: 'u3' });
    const expected = retention(rows.filter((r) => r.userId === 'u3').map(rawEventOf), {
      ...base,
      from: base.from!,
    });
    expect({ rows: one.rows, mean: one.mean }).toEqual(expected);
    expect(one.rows.reduce((a, r) => a + r.size, 0)).toBeLessThanOrEqual(1);
  });

  it('names each period by the local date it starts on', () => {
    expect(periodStartDate(periodIndex(Date.UTC(2026, 8, 16), 'UTC', 'week'), 'week')).toBe('2026-09-14');
    expect(periodStartDate(periodIndex(Date.UTC(2026, 8, 16), 'UTC', 'month'), 'month')).toBe('2026-09-01');
    expect(periodStartDate(periodIndex(Date.UTC(2026, 8, 16), 'UTC', 'day'), 'day')).toBe('2026-09-16');
  });
});
