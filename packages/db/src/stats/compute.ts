// /api/stats: computeStats reads the aggregate tables in one snapshot and assembles the answer.
import { ROLES } from '@tracker/schemas';
import type pg from 'pg';
import { USER_CUM_PARTS } from '../aggregates/catalog.js';
import { totalApiHits } from '../api-hits.js';
import { inSnapshot, type Queryable } from '../snapshot.js';
import {
  checkSpan,
  dimsOf,
  type Normalized,
  normalize,
  STATS_LIMITS,
  timeFiltered,
  validateTimeZone,
} from './input.js';
import { chooseSource, decomposeRange, type Source, type TimeRange } from './plan.js';
import { andClause, conditions, countSql, Params, pgTime, rangesFor, ts, whereClause } from './sql.js';
import type { InteractionFilters, Stats, StatsOptions } from './types.js';
import { type UserStats, userStats } from './users.js';

/**
 * Connections one computeStats uses at most: its statements that can run at once (two counts, the
 * per-user histogram of each agg_user_cum partition and the population, the daily series, the API
 * hits).
 */
const STATS_CONNECTIONS = 5 + USER_CUM_PARTS;

async function countsBy(
  pool: Queryable,
  f: Normalized,
  group: 'action' | 'page',
  limit: number | null,
): Promise<{ key: string; count: number }[]> {
  const src = chooseSource(dimsOf(f), timeFiltered(f), group);
  const p = new Params();
  const sql = `SELECT key, n FROM (${countSql(p, src, f, group, rangesFor(src, f))}) c
                ORDER BY n DESC, key COLLATE "C"${limit === null ? '' : ` LIMIT ${p.add(limit)}`}`;
  const { rows } = await pool.query<{ key: string; n: number }>(sql, p.values);
  return rows.map((r) => ({ key: r.key, count: Number(r.n) }));
}

/** First and last matching interaction (exact instants), for a daily series without from or to. */
async function bounds(
  pool: Queryable,
  src: Source,
  f: Normalized,
): Promise<{ min: number | null; max: number | null }> {
  const p = new Params();
  const rawConds = conditions(p, 'i', f, 'raw');
  const toMs = (d: Date | null) => (d === null ? null : d.getTime());
  if (src.raw) {
    const time = [
      ...(f.from !== null ? [`i.occurred_at >= ${p.add(ts(f.from, '-infinity'), 'timestamptz')}`] : []),
      ...(f.to !== null ? [`i.occurred_at < ${p.add(ts(f.to, 'infinity'), 'timestamptz')}`] : []),
    ];
    const { rows } = await pool.query<{ lo: Date | null; hi: Date | null }>(
      `SELECT min(i.occurred_at) AS lo, max(i.occurred_at) AS hi FROM interactions i${whereClause([...rawConds, ...time])}`,
      p.values,
    );
    return { min: toMs(rows[0]?.lo ?? null), max: toMs(rows[0]?.hi ?? null) };
  }
  // The first and last non-empty bucket of the finest grain, then the exact instant from raw rows
  // inside that one bucket.
  const grain = Math.min(...src.grains);
  const q = new Params();
  const time = [
    ...(f.from !== null
      ? [
          `t.bucket >= ${q.add(ts(Math.floor(f.from / (grain * 60_000)) * grain * 60_000, '-infinity'), 'timestamptz')}`,
        ]
      : []),
    ...(f.to !== null ? [`t.bucket < ${q.add(ts(f.to, 'infinity'), 'timestamptz')}`] : []),
  ];
  const { rows } = await pool.query<{ lo: Date | null; hi: Date | null }>(
    `SELECT min(t.bucket) AS lo, max(t.bucket) AS hi FROM ${src.tables![grain]} t${whereClause([...conditions(q, 't', f, src.name), ...time])}`,
    q.values,
  );
  const lo = rows[0]?.lo ?? null;
  const hi = rows[0]?.hi ?? null;
  if (lo === null || hi === null) return { min: null, max: null };
  const refine = async (fn: 'min' | 'max', bucket: Date) => {
    const r = new Params();
    const start = Math.max(bucket.getTime(), f.from ?? Number.NEGATIVE_INFINITY);
    const end = Math.min(bucket.getTime() + grain * 60_000, f.to ?? Number.POSITIVE_INFINITY);
    const { rows: out } = await pool.query<{ t: Date | null }>(
      `SELECT ${fn}(i.occurred_at) AS t FROM interactions i
        WHERE i.occurred_at >= ${r.add(pgTime(start), 'timestamptz')}
          AND i.occurred_at < ${r.add(pgTime(end), 'timestamptz')}${andClause(conditions(r, 'i', f, 'raw'))}`,
      r.values,
    );
    // No raw row in a non-empty bucket: retention dropped them; the bucket's own edge is exact enough
    // for the day it falls in (buckets never straddle a day in any zone with a quarter-hour offset).
    return toMs(out[0]?.t ?? null) ?? (fn === 'min' ? start : end - 1);
  };
  const [min, max] = await Promise.all([
    f.from === null ? refine('min', lo) : Promise.resolve(null),
    f.to === null ? refine('max', hi) : Promise.resolve(null),
  ]);
  return { min, max };
}

async function daily(pool: Queryable, f: Normalized): Promise<{ date: string; count: number }[]> {
  const src = chooseSource(dimsOf(f), timeFiltered(f), 'time');
  let first = f.from;
  let last = f.to === null ? null : f.to - 1;
  if (first === null || last === null) {
    const b = await bounds(pool, src, f);
    first ??= b.min;
    last ??= b.max;
  }
  if (first === null || last === null || first > last) return [];
  // Without `from` the series starts at the data: it covers the last maxDays days at most (the
  // totals still count everything), rather than refusing a parameter the client did not send.
  if (f.from === null) first = Math.max(first, last - (STATS_LIMITS.maxDays - 1) * 86_400_000);
  checkSpan(first, last);
  // Local midnights from the first day to the day after the last, as instants (PostgreSQL's zone
  // rules). NOTE: where clocks go back over midnight (America/Havana, 2026-11-01: 00:00 CDT, then
  // 00:00 CST an hour later) a local time names two instants and AT TIME ZONE gives the later; the
  // day starts at the earlier. Clocks move by 30 minutes, 1, 2 or 3 hours (Antarctica/Casey,
  // 2010-03-05: +11 → +8 at 02:00): those candidates are tried.
  const { rows: days } = await pool.query<{ day: string; start: Date }>(
    `SELECT to_char(d, 'YYYY-MM-DD') AS day,
            coalesce((SELECT min(c) FROM unnest(ARRAY[interval '3 hours', interval '2 hours', interval '1 hour', interval '30 minutes']) AS b,
                        LATERAL (SELECT (d AT TIME ZONE $3) - b AS c) x
                       WHERE (c AT TIME ZONE $3) = d), d AT TIME ZONE $3) AS start
       FROM generate_series(date_trunc('day', $1::timestamptz AT TIME ZONE $3),
                            date_trunc('day', $2::timestamptz AT TIME ZONE $3) + interval '1 day',
                            interval '1 day') AS d`,
    [pgTime(first), pgTime(last), f.tz],
  );
  const ranges: TimeRange[] = [];
  for (let i = 0; i + 1 < days.length; i += 1) {
    const start = Math.max(days[i]!.start.getTime(), f.from ?? Number.NEGATIVE_INFINITY);
    const end = Math.min(days[i + 1]!.start.getTime(), f.to ?? Number.POSITIVE_INFINITY);
    ranges.push(...decomposeRange(start, end, src.grains, i));
  }
  const p = new Params();
  const { rows } = await pool.query<{ label: number; n: number }>(
    `SELECT label, n FROM (${countSql(p, src, f, 'time', ranges)}) c`,
    p.values,
  );
  const counts = new Map(rows.map((r) => [Number(r.label), Number(r.n)]));
  return days.slice(0, -1).map((d, i) => ({ date: d.day, count: counts.get(i) ?? 0 }));
}

export function assemble(
  byAction: { key: string; count: number }[],
  pages: { key: string; count: number }[],
  users: UserStats,
  days: { date: string; count: number }[],
  apiHits: number,
): Stats {
  const totalActions = byAction.reduce((s, a) => s + a.count, 0);
  return {
    totalActions,
    totalUsers: users.population,
    usersWithActions: users.usersWithActions,
    actionsPerUser: users.usersWithActions > 0 ? totalActions / users.usersWithActions : 0,
    gini: users.gini,
    apiHits,
    byAction: byAction.map((a) => ({ action: a.key, count: a.count })),
    daily: days,
    pageRanking: pages.map((p) => ({ page: p.key, count: p.count })),
    roleDistribution: ROLES.map((role) => ({ role, users: users.byRole.get(role) ?? 0 })),
  };
}

/**
 * Dashboard statistics from the aggregate tables (definitions in types.ts and the processor's
 * README). Each statistic reads the smallest aggregate that can apply the filters; time ranges use
 * the coarsest buckets that fit and raw rows (occurred_at index) only for the parts finer than the
 * finest bucket. Combinations no aggregate covers are counted from raw rows through their indexes.
 * Every statement reads one snapshot (inSnapshot), so the parts agree while data keeps arriving
 * (the daily series sums to totalActions, and so on).
 * Throws StatsInputError for bad input (unknown tz, topPages out of range, invalid dates).
 */
export async function computeStats(
  pool: pg.Pool,
  filters: InteractionFilters,
  opts: StatsOptions = {},
): Promise<Stats> {
  // The zone names are read (once per pool) before a connection is held: inSnapshot's callers must
  // not wait for a second connection of the pool while holding one.
  await validateTimeZone(pool, opts.tz ?? 'UTC');
  return inSnapshot(pool, STATS_CONNECTIONS, async (db) => {
    const f = await normalize(pool, filters, opts, db);
    const [byAction, pages, users, days, apiHits] = await Promise.all([
      countsBy(db, f, 'action', null),
      countsBy(db, f, 'page', f.topPages),
      userStats(db, f),
      daily(db, f),
      totalApiHits(db),
    ]);
    return assemble(byAction, pages, users, days, apiHits);
  });
}

/**
 * The number of interactions matching `filters`, from the cheapest source that applies them (the
 * plan computeStats uses for totalActions, without the rest of the statistics). `source` names the
 * table read; `'raw'` means raw rows were counted. Throws StatsInputError for bad filters.
 */
export async function countInteractions(
  pool: pg.Pool,
  filters: InteractionFilters,
): Promise<{ count: number; source: string }> {
  const f = await normalize(pool, filters, {});
  const src = chooseSource(dimsOf(f), timeFiltered(f), 'none');
  const p = new Params();
  const { rows } = await pool.query<{ n: number | null }>(
    `SELECT sum(n)::bigint AS n FROM (${countSql(p, src, f, 'none', rangesFor(src, f))}) c`,
    p.values,
  );
  return { count: Number(rows[0]?.n ?? 0), source: src.name };
}
