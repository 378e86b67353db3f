import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildAggregates } from './aggregates/rebuild.js';
import { reconcile } from './aggregates/reconcile.js';
import { interactionRow } from './aggregates/rows.harness.js';
import type { InteractionRow } from './aggregates/rows.js';
import { storeInteractions } from './aggregates/store.js';
import {
  applyRetention,
  ensureInteractionPartitions,
  partitionName,
  rawRowsFrom,
  retentionHorizon,
  weekStart,
} from './retention.js';
import { sqlStateOf } from './sql-state.js';
import { computeStats } from './stats/compute.js';

const DAY = 86_400_000;
// A fixed "now" (a Wednesday), so the weeks below do not depend on the day the test runs.
const NOW = Date.UTC(2026, 5, 17, 12);
const DAYS = 30;
const HORIZON = retentionHorizon(DAYS, NOW); // Monday 2026-05-18 00:00 UTC

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('retention');
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

const store = (rows: InteractionRow[]) => db.prisma.$transaction((tx) => storeInteractions(tx, rows));
const count = async (sql: string, params: unknown[] = []) =>
  (await db.pool.query<{ n: number }>(sql, params)).rows[0]!.n;
const partitions = async () =>
  (
    await db.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'interactions'::regclass ORDER BY 1`,
    )
  ).rows.map((r) => r.name);

describe('weeks', () => {
  it('start on Monday 00:00 UTC, and the horizon is the week holding now − days', () => {
    expect(new Date(weekStart(Date.UTC(2026, 5, 17, 12))).toISOString()).toBe('2026-06-15T00:00:00.000Z');
    expect(weekStart(Date.UTC(2026, 5, 15))).toBe(Date.UTC(2026, 5, 15));
    expect(weekStart(Date.UTC(2026, 5, 15) - 1)).toBe(Date.UTC(2026, 5, 8));
    expect(new Date(weekStart(Date.UTC(1969, 11, 31))).toISOString()).toBe('1969-12-29T00:00:00.000Z');
    expect(new Date(HORIZON).toISOString()).toBe('2026-05-18T00:00:00.000Z');
    expect(partitionName(HORIZON)).toBe('interactions_20260518');
  });
});

describe('retention of raw rows (TRACKER_RETENTION_DAYS)', () => {
  const old = [NOW - 60 * DAY, NOW - 45 * DAY]; // weeks wholly before the horizon
  // More than 30 days old but in the horizon's week (kept), and recent.
  const kept = [NOW - DAYS * DAY - 6 * 3_600_000, NOW - 2 * DAY];
  let before: Awaited<ReturnType<typeof computeStats>>;

  it('stores an event once even when a resend carries another occurred_at (another week)', async () => {
    const id = randomUUID();
    const first = await store([interactionRow('dup', NOW - 3 * DAY, { eventId: id })]);
    const again = await store([interactionRow('dup', NOW - 10 * DAY, { eventId: id })]);
    expect(first.inserted).toBe(1);
    expect(again.inserted).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM interactions WHERE event_id = $1`, [id])).toBe(1);
  });

  it('creates partitions on demand, one per week with rows', async () => {
    const rows = [...old, ...kept].flatMap((t, i) =>
      Array.from({ length: 5 }, (_, k) => interactionRow(`u${k}`, t + k * 1000, { action: `a${i}` })),
    );
    expect((await store(rows)).inserted).toBe(rows.length);
    const names = await partitions();
    for (const t of [...old, ...kept]) expect(names).toContain(partitionName(weekStart(t)));
    before = await computeStats(db.pool, {}, { tz: 'UTC' });
    expect(before.totalActions).toBe(rows.length + 1);
  });

  it('drops whole weeks before the horizon; statistics keep their history; ids of dropped rows go', async () => {
    const r = await applyRetention(db.pool, { days: DAYS, nowMs: NOW });
    expect(r.ran).toBe(true);
    expect(r.rawFrom?.getTime()).toBe(HORIZON);
    expect(r.dropped).toEqual(old.map((t) => partitionName(weekStart(t))));
    expect(r.prunedIds).toBe(10);
    expect(await rawRowsFrom(db.prisma)).toEqual(new Date(HORIZON));
    expect(
      await count('SELECT count(*)::int AS n FROM interactions WHERE occurred_at < $1', [new Date(HORIZON)]),
    ).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM interactions')).toBe(11);
    expect(await count('SELECT count(*)::int AS n FROM interaction_ids')).toBe(11);
    // Every statistic from the aggregates: the same as before the drop, history included.
    const after = await computeStats(db.pool, {}, { tz: 'UTC' });
    expect(after).toEqual({ ...before, apiHits: after.apiHits });
    // A second run has nothing to do.
    const again = await applyRetention(db.pool, { days: DAYS, nowMs: NOW });
    expect(again).toMatchObject({ ran: true, dropped: [], prunedIds: 0 });
  });

  it('stores a late event for a week that still exists, and refuses one for a dropped week', async () => {
    const late = interactionRow('late', kept[0]! + 5_000);
    expect((await store([late])).inserted).toBe(1);
    // The dropped week is not created again: the row has no partition (the processor dead-letters
    // such rows as expired before they reach the database; this is the database's own guard).
    expect(await ensureInteractionPartitions(db.prisma, [old[0]!])).toBe(0);
    const error = await store([interactionRow('late', old[0]! + 5_000)]).catch((e: unknown) => e);
    expect(sqlStateOf(error)).toBe('23514');
    expect(await partitions()).not.toContain(partitionName(weekStart(old[0]!)));
  });

  it('reconcile compares the time buckets kept and skips all-time totals; rebuild refuses', async () => {
    const r = await reconcile(db.pool);
    expect(r.rawFrom?.getTime()).toBe(HORIZON);
    expect(r.totalDifferences).toBe(0);
    expect(r.tables.find((t) => t.table === 'agg_time_total_1d')?.skipped).toBeUndefined();
    expect(r.tables.find((t) => t.table === 'users')?.skipped).toMatch(/all-time totals/);
    // Per-user activity by quarter-hour is a time bucket too (its key starts with the action).
    expect(r.tables.find((t) => t.table === 'agg_user_action_15m')?.skipped).toBeUndefined();
    expect(r.tables.find((t) => t.table === 'agg_user_first')?.skipped).toMatch(/all-time totals/);
    // A corrupted kept bucket is still found.
    await db.pool.query('UPDATE agg_time_total_1d SET n = n + 1 WHERE bucket >= $1', [new Date(HORIZON)]);
    expect((await reconcile(db.pool)).totalDifferences).toBeGreaterThan(0);
    await db.pool.query('UPDATE agg_time_total_1d SET n = n - 1 WHERE bucket >= $1', [new Date(HORIZON)]);
    await expect(rebuildAggregates(db.pool)).rejects.toThrow(/dropped by retention/);
  });

  it('never blocks ingestion: inserts go on while a partition waits to be detached', async () => {
    const victimWeek = weekStart(kept[0]!);
    const hold = await db.pool.connect();
    try {
      // An open transaction that read the table: DETACH … CONCURRENTLY waits for it to end.
      await hold.query('BEGIN');
      await hold.query('SELECT count(*) FROM interactions');
      let detached = false;
      const retention = applyRetention(db.pool, { days: DAYS - 7, nowMs: NOW }).finally(() => {
        detached = true;
      });
      await new Promise((r) => setTimeout(r, 300));
      // Meanwhile a batch for the current week (no lock wait allowed) goes through.
      const stored = await db.prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SET LOCAL lock_timeout = '2s'`;
        return storeInteractions(tx, [interactionRow('live', NOW)]);
      });
      expect(stored.inserted).toBe(1);
      expect(detached).toBe(false); // the detach was still waiting for `hold` meanwhile
      await hold.query('COMMIT');
      const r = await retention;
      expect(r.dropped).toEqual([partitionName(victimWeek)]);
    } finally {
      hold.release();
    }
  });
});
