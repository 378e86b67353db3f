// Raw-row retention: the weekly partitions of `interactions`, created ahead of the rows that need them
// and dropped whole once older than TRACKER_RETENTION_DAYS. Aggregates are never touched.

import type pg from 'pg';
import type { PrismaSql } from './client.js';
import { numberArray } from './pg-array.js';

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05 00:00 UTC, a Monday: weeks (partitions) start at multiples of 7 days from it. */
const MONDAY_MS = 4 * DAY_MS;
/** Advisory lock key of partition maintenance (ensure_interaction_partitions takes (7412, 0) too). */
const PARTITION_LOCK = [7412, 0] as const;
/** interaction_ids rows deleted per statement when pruning (short transactions, bounded WAL bursts). */
const PRUNE_CHUNK = 20_000;

/** Start (ms) of the partition week holding `ms`: Monday 00:00 UTC. */
export const weekStart = (ms: number): number => ms - ((((ms - MONDAY_MS) % WEEK_MS) + WEEK_MS) % WEEK_MS);

/** The partition holding the week that starts at `weekMs` (`interactions_YYYYMMDD`). */
export const partitionName = (weekMs: number): string =>
  `interactions_${new Date(weekMs).toISOString().slice(0, 10).replaceAll('-', '')}`;

/**
 * Creates the weekly partitions that rows at `instantsMs` need and that do not exist yet (weeks before
 * rawRowsFrom stay absent). Returns how many it created. Anyone inserting raw rows calls it first: the
 * table has no default partition, so a row without one is refused (SQLSTATE 23514).
 */
export async function ensureInteractionPartitions(
  db: PrismaSql,
  instantsMs: readonly number[],
): Promise<number> {
  const weeks = [...new Set(instantsMs.map(weekStart))];
  if (weeks.length === 0) return 0;
  const out = await db.$queryRaw<{ made: number }[]>`SELECT ensure_interaction_partitions(ARRAY(
      SELECT TIMESTAMPTZ 'epoch' + m * INTERVAL '1 millisecond' FROM unnest(${numberArray(weeks)}::bigint[]) m
    )) AS made`;
  return out[0]?.made ?? 0;
}

/** Since when raw rows are kept: null while retention has removed nothing (all kept). */
export async function rawRowsFrom(db: Pick<PrismaSql, '$queryRaw'>): Promise<Date | null> {
  const out = await db.$queryRaw<
    { raw_from: Date | null }[]
  >`SELECT raw_from FROM raw_retention WHERE id = 1`;
  return out[0]?.raw_from ?? null;
}

/** The first instant kept with `days` of retention at `nowMs`: the start of the week holding now − days. */
export const retentionHorizon = (days: number, nowMs: number): number => weekStart(nowMs - days * DAY_MS);

export interface RetentionResult {
  /** False when another instance was running it (nothing done here). */
  ran: boolean;
  /** raw_retention.raw_from after the run. */
  rawFrom: Date | null;
  /** Partitions dropped, oldest first. */
  dropped: string[];
  /** interaction_ids rows removed. */
  prunedIds: number;
}

/**
 * Removes raw interactions older than `days` (whole weeks: a week goes once all of it is older),
 * without blocking ingestion: raw_from moves first (no partition before it is created again, the
 * processor dead-letters rows before it), each old partition is detached CONCURRENTLY (SHARE UPDATE
 * EXCLUSIVE: inserts and reads go on) and dropped, then their event ids are pruned in chunks. One
 * instance at a time (advisory lock; another caller returns ran: false). Needs a connection outside
 * any transaction (DETACH … CONCURRENTLY cannot run in one).
 */
export async function applyRetention(
  pool: pg.Pool,
  opts: { days: number; nowMs?: number },
): Promise<RetentionResult> {
  if (!Number.isInteger(opts.days) || opts.days < 1)
    throw new RangeError(`retention days must be ≥ 1: ${opts.days}`);
  const horizon = new Date(retentionHorizon(opts.days, opts.nowMs ?? Date.now()));
  const client = await pool.connect();
  try {
    const { rows: lock } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
      ...PARTITION_LOCK,
    ]);
    if (!lock[0]?.ok) return { ran: false, rawFrom: null, dropped: [], prunedIds: 0 };
    let rawFrom: Date;
    const dropped: string[] = [];
    try {
      const { rows: moved } = await client.query<{ raw_from: Date | null }>(
        `UPDATE raw_retention SET raw_from = GREATEST(coalesce(raw_from, $1), $1), updated_at = now()
          WHERE id = 1 RETURNING raw_from`,
        [horizon],
      );
      rawFrom = moved[0]?.raw_from ?? horizon;
      // Partitions (attached, or left half-detached by an interrupted run) whose whole week is before
      // rawFrom; and tables a run detached but did not drop.
      const { rows: old } = await client.query<{ name: string; attached: boolean; pending: boolean }>(
        `SELECT c.relname AS name, i.inhrelid IS NOT NULL AS attached, coalesce(i.inhdetachpending, false) AS pending
           FROM pg_class c
           LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = 'interactions'::regclass
          WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
            AND c.relname ~ '^interactions_[0-9]{8}$'
            AND to_date(substr(c.relname, 14), 'YYYYMMDD') + 7 <= ($1::timestamptz AT TIME ZONE 'UTC')::date
          ORDER BY c.relname`,
        [rawFrom],
      );
      for (const p of old) {
        if (p.pending) await client.query(`ALTER TABLE interactions DETACH PARTITION "${p.name}" FINALIZE`);
        else if (p.attached)
          await client.query(`ALTER TABLE interactions DETACH PARTITION "${p.name}" CONCURRENTLY`);
        await client.query(`DROP TABLE "${p.name}"`);
        dropped.push(p.name);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [...PARTITION_LOCK]);
    }
    // The ids of the dropped rows, after the lock: a processor needing a new partition need not wait.
    let prunedIds = 0;
    for (;;) {
      const res = await client.query(
        `DELETE FROM interaction_ids WHERE event_id = ANY (ARRAY(
           SELECT event_id FROM interaction_ids WHERE occurred_at < $1 LIMIT ${PRUNE_CHUNK}))`,
        [rawFrom],
      );
      prunedIds += res.rowCount ?? 0;
      if ((res.rowCount ?? 0) < PRUNE_CHUNK) break;
    }
    return { ran: true, rawFrom, dropped, prunedIds };
  } finally {
    client.release();
  }
}
