import { ROLES, type Role } from '@tracker/schemas';
import type pg from 'pg';
import {
  BUCKET_ORIGIN_MS,
  CUM_PERIOD_SLOTS,
  CUM_SLOT_MS,
  MAX_PREFIX_DEPTH,
  USER_CUM_PARTS,
} from './aggregates.js';
import { totalApiHits } from './api-hits.js';
import { inSnapshot, type Queryable } from './snapshot.js';
import {
  chooseSource,
  type Dim,
  daysBetween,
  decomposeRange,
  type GroupBy,
  giniFromHistogram,
  giniOfValues,
  type Source,
  type TimeRange,
} from './stats-plan.js';
import type { InteractionFilters, Stats, StatsOptions } from './stats-types.js';

/** Bad filters or options (the query service answers 400 with `field`). Nothing was queried. */
export class StatsInputError extends Error {
  override name = 'StatsInputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Session settings computeStats is tuned for (on top of createPool's jit=off): the query service's
 * pool and the measuring scripts use these. work_mem: the per-user counts of a time-filtered answer
 * hash one row per active user (tens of thousands); with the 4 MB default they spilled to disk.
 * max_parallel_workers_per_gather (the query service's QUERY_DB_PARALLEL_WORKERS, default 0): an
 * answer already runs up to 7 statements at once; PostgreSQL's default (2) had the planner start two
 * workers for a raw edge of a few hundred rows, and starting them took longer than the scan (from 30
 * to 7 days ago, asked at 00:30 UTC, on the 5M-row benchmark data: 34 -> 25 ms p50,
 * `STATS_NOW=... node bench/scripts/trace-stats.mjs fromTo`).
 */
export function statsSessionSettings(parallelWorkers = 0): Record<string, string> {
  return { work_mem: '32MB', max_parallel_workers_per_gather: String(parallelWorkers) };
}

export const STATS_LIMITS = {
  /** Longest daily series (days) a request may ask for. */
  maxDays: 3700,
  /** Largest `topPages`. */
  maxTopPages: 1000,
  defaultTopPages: 10,
} as const;

interface Normalized {
  userId: string | undefined;
  role: Role | undefined;
  action: string | undefined;
  /** `pages`: for a prefix, the stored pages it matches (resolved once from agg_page_action). */
  page: { value: string; prefix: boolean; pages?: string[] } | undefined;
  from: number | null;
  to: number | null;
  tz: string;
  topPages: number;
}

/**
 * Connections one computeStats uses at most: its statements that can run at once (two counts, the
 * per-user histogram of each agg_user_cum partition and the population, the daily series, the API
 * hits).
 */
const STATS_CONNECTIONS = 5 + USER_CUM_PARTS;

const zoneCache = new WeakMap<pg.Pool, Promise<Map<string, string>>>();

/**
 * The canonical name of an IANA time zone PostgreSQL knows (case-insensitive lookup in
 * pg_timezone_names, cached per pool), or a StatsInputError. Abbreviations and POSIX strings such as
 * `UTC+3` are refused: only names that the daily series can be computed in are accepted.
 */
export async function validateTimeZone(pool: pg.Pool, tz: string): Promise<string> {
  let names = zoneCache.get(pool);
  if (!names) {
    names = pool
      .query<{ name: string }>('SELECT name FROM pg_timezone_names')
      .then(({ rows }) => new Map(rows.map((r) => [r.name.toLowerCase(), r.name])));
    names.catch(() => zoneCache.delete(pool));
    zoneCache.set(pool, names);
  }
  const canonical = (await names).get(tz.toLowerCase());
  if (!canonical)
    throw new StatsInputError('tz', `unknown time zone '${tz}' (use an IANA name such as Europe/Berlin)`);
  return canonical;
}

function timeOf(field: 'from' | 'to', d: Date | undefined): number | null {
  if (d === undefined) return null;
  if (!(d instanceof Date) || Number.isNaN(d.getTime()))
    throw new StatsInputError(field, 'must be a valid date');
  return d.getTime();
}

/** Checks and normalises the filters; `db` resolves a page prefix's pages (the time zone: `pool`). */
async function normalize(
  pool: pg.Pool,
  filters: InteractionFilters,
  opts: StatsOptions,
  db: Queryable = pool,
): Promise<Normalized> {
  if (filters.role !== undefined && !ROLES.includes(filters.role)) {
    throw new StatsInputError('role', `must be one of ${ROLES.join(', ')}`);
  }
  const topPages = opts.topPages ?? STATS_LIMITS.defaultTopPages;
  if (!Number.isInteger(topPages) || topPages < 1 || topPages > STATS_LIMITS.maxTopPages) {
    throw new StatsInputError('topPages', `must be an integer from 1 to ${STATS_LIMITS.maxTopPages}`);
  }
  const page =
    filters.page === undefined
      ? undefined
      : filters.page.endsWith('*')
        ? { value: filters.page.slice(0, -1), prefix: true }
        : { value: filters.page, prefix: false };
  if (page?.prefix) {
    const { rows } = await db.query<{ page: string }>(
      'SELECT DISTINCT page FROM agg_page_action WHERE starts_with(page, $1)',
      [page.value],
    );
    (page as { pages?: string[] }).pages = rows.map((r) => r.page);
  }
  return {
    userId: filters.userId,
    role: filters.role,
    action: filters.action,
    page,
    from: timeOf('from', filters.from),
    to: timeOf('to', filters.to),
    tz: await validateTimeZone(pool, opts.tz ?? 'UTC'),
    topPages,
  };
}

const dimsOf = (f: Normalized): Dim[] =>
  [
    f.userId !== undefined && ('user' as const),
    f.role !== undefined && ('role' as const),
    f.action !== undefined && ('action' as const),
    f.page !== undefined && ('page' as const),
  ].filter((d): d is Dim => d !== false);

const timeFiltered = (f: Normalized) => f.from !== null || f.to !== null;

/** Positional parameters: every value reaches SQL as $n, never as text. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return `$${this.values.length}${cast ? `::${cast}` : ''}`;
  }
}

/**
 * An instant as PostgreSQL reads it: ISO 8601, but a year past 9999 without the `+0` of JavaScript's
 * expanded years (`+010000-01-01…`, which PostgreSQL refuses: the bucket after an event dated
 * 9999-12-31 made every statistic a 500).
 */
export const pgTime = (t: number): string => new Date(t).toISOString().replace(/^\+0*/, '');

const ts = (t: number | null, unbounded: 'infinity' | '-infinity') => (t === null ? unbounded : pgTime(t));

/** WHERE conditions for the filter dimensions on `alias` (a source's table or raw interactions). */
function conditions(p: Params, alias: string, f: Normalized, sourceName: string): string[] {
  const out: string[] = [];
  if (f.userId !== undefined) out.push(`${alias}.user_id = ${p.add(f.userId)}`);
  if (f.role !== undefined) out.push(`${alias}.role = ${p.add(f.role, '"Role"')}`);
  if (f.action !== undefined) out.push(`${alias}.action = ${p.add(f.action)}`);
  if (f.page !== undefined) {
    if (!f.page.prefix) out.push(`${alias}.page = ${p.add(f.page.value)}`);
    else if (sourceName === 'reference' || !f.page.pages)
      out.push(`starts_with(${alias}.page, ${p.add(f.page.value)})`);
    // The matching pages were resolved once from the small page table; then each is an index lookup.
    else out.push(`${alias}.page = ANY(${p.add(f.page.pages)}::text[])`);
  }
  return out;
}

const whereClause = (conds: string[]) => (conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : '');
const andClause = (conds: string[]) => conds.map((c) => ` AND ${c}`).join('');

function keyExpr(group: GroupBy, alias: string): string {
  switch (group) {
    case 'action':
      return `${alias}.action`;
    case 'page':
      return `${alias}.page`;
    case 'user':
      return `${alias}.user_id`;
    default:
      return 'NULL::text';
  }
}

function rangesRelation(p: Params, ranges: TimeRange[]): string {
  return `unnest(${p.add(ranges.map((r) => ts(r.start, '-infinity')))}::timestamptz[],
                 ${p.add(ranges.map((r) => ts(r.end, 'infinity')))}::timestamptz[], ${p.add(ranges.map((r) => r.label))}::int[])
           AS r(s, e, label)`;
}

/** The time ranges a source must read for [from, to), or null when it has no time dimension. */
function rangesFor(src: Source, f: Normalized): TimeRange[] | null {
  if (!src.raw && src.grains.length === 0) return null;
  return decomposeRange(f.from, f.to, src.grains);
}

/**
 * `SELECT key, label, n`: interaction counts from `src` under the filters, per group key and range
 * label. Aggregate buckets for the aligned parts of the ranges (the table of each grain), raw rows
 * for the rest.
 */
function countSql(p: Params, src: Source, f: Normalized, group: GroupBy, ranges: TimeRange[] | null): string {
  const parts: string[] = [];
  if (ranges === null) {
    parts.push(
      `SELECT ${keyExpr(group, 't')} AS key, 0 AS label, t.${src.count} AS n FROM ${src.table} t${whereClause(conditions(p, 't', f, src.name))}`,
    );
  } else {
    // NOTE: LATERAL makes every range its own index range scan; as a join the planner tends to hash
    // the whole table against the list of ranges.
    const grains = src.raw ? [] : [...new Set(ranges.filter((r) => r.grain > 0).map((r) => r.grain))];
    for (const grain of grains) {
      const table = src.tables![grain]!;
      parts.push(
        `SELECT x.key, r.label, x.n FROM ${rangesRelation(
          p,
          ranges.filter((r) => r.grain === grain),
        )}
           CROSS JOIN LATERAL (
             SELECT ${keyExpr(group, 't')} AS key, t.${src.count} AS n FROM ${table} t
              WHERE t.bucket >= r.s AND t.bucket < r.e${andClause(conditions(p, 't', f, src.name))}) x`,
      );
    }
    const raw = src.raw ? ranges : ranges.filter((r) => r.grain === 0);
    if (raw.length > 0) {
      parts.push(
        `SELECT x.key, r.label, x.n FROM ${rangesRelation(p, raw)}
           CROSS JOIN LATERAL (
             SELECT ${keyExpr(group, 'i')} AS key, count(*)::bigint AS n FROM interactions i
              WHERE i.occurred_at >= r.s AND i.occurred_at < r.e${andClause(conditions(p, 'i', f, 'raw'))}
              GROUP BY 1) x`,
      );
    }
  }
  if (parts.length === 0) return 'SELECT NULL::text AS key, 0 AS label, 0::bigint AS n WHERE FALSE';
  return `SELECT key, label, sum(n)::bigint AS n FROM (${parts.join('\n UNION ALL \n')}) x GROUP BY key, label`;
}

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

interface UserStats {
  usersWithActions: number;
  population: number;
  byRole: Map<string, number>;
  gini: number;
}

const DAY_MS = 86_400_000;

/**
 * The per-user counts of a time range, as one statement per part of the users: `parts` run side by
 * side (each on its own connection, so on its own core) and their histograms add up. A part is one of
 * agg_user_cum's hash partitions (USER_CUM_PARTS) or, where the statement is cheap or has no
 * cumulative rows to read, `null`: every user at once.
 */
interface PerUser {
  parts: (number | null)[];
  sql: (part: number | null) => string;
}

const wholePerUser = (sql: string): PerUser => ({ parts: [null], sql: () => sql });

/**
 * `SELECT user_id, n`: each user's interactions in [from, to) (n > 0 only; userId filter applied),
 * from agg_user_cum: per period row, the cumulative count at the range's end minus at its start.
 * A boundary inside a half-day step (CUM_SLOT_MS: 00:00–12:00, 12:00–24:00 UTC) is moved to the
 * nearer step and the time in between is counted from raw rows (at most 6 hours' worth per
 * boundary); a range of a day or less is read raw.
 * NOTE: every part's statement uses the same parameters (added to `p` once, here), so that they can
 * all be sent with `p.values`.
 */
async function perUserInRange(pool: Queryable, p: Params, f: Normalized): Promise<PerUser> {
  const edges: { start: number; end: number; sign: 1 | -1 }[] = [];
  if (f.from !== null && f.to !== null && f.to - f.from <= DAY_MS) {
    edges.push({ start: f.from, end: f.to, sign: 1 });
    return wholePerUser(`SELECT user_id, n FROM (${rawEdges()(null)}) r`);
  }
  const P = CUM_PERIOD_SLOTS;
  const periods: number[] = [];
  // The step number (half days since BUCKET_ORIGIN_MS) whose start stands for boundary t, plus the
  // raw part between that start and t: counted with `sign` when t is later than the step's start.
  const boundary = (t: number | null, sign: 1 | -1): number | null => {
    if (t === null) return null;
    const slots = (t - BUCKET_ORIGIN_MS) / CUM_SLOT_MS;
    const floor = Math.floor(slots);
    periods.push(Math.floor(floor / P));
    if (floor === slots) return floor;
    const start = BUCKET_ORIGIN_MS + floor * CUM_SLOT_MS;
    if (t - start <= CUM_SLOT_MS / 2) {
      edges.push({ start, end: t, sign });
      return floor;
    }
    edges.push({ start: t, end: start + CUM_SLOT_MS, sign: sign === 1 ? -1 : 1 });
    return floor + 1;
  };
  const first = boundary(f.from, -1);
  const end = boundary(f.to, 1);
  // Periods wholly before `first` or from `end` on contribute 0 and need not be read; those of the
  // raw edges' steps are read too (contributing 0 when outside the range), so that every user with
  // an edge row has a period row.
  if (first !== null) periods.push(Math.floor(first / P));
  if (end !== null) periods.push(Math.ceil(end / P) - 1);
  // An open end reaches the first or last period stored (two probes of the primary key).
  const stored =
    first === null || end === null
      ? (
          await pool.query<{ lo: number | null; hi: number | null }>(
            'SELECT min(period) AS lo, max(period) AS hi FROM agg_user_cum',
          )
        ).rows[0]!
      : null;
  if (stored && stored.lo === null)
    return wholePerUser('SELECT NULL::text AS user_id, 0::bigint AS n WHERE FALSE');
  const lo = first === null ? stored!.lo! : Math.min(...periods);
  const hi = end === null ? stored!.hi! : Math.max(...periods);
  const single = lo === hi;
  // cum[k]: the count to the end of the period's k-th step (0 before it; the last element past the
  // array's end). With one period, k is the same for every row: a constant.
  const at = (slot: number | null, empty: number): string => {
    if (single) {
      const k = slot === null ? empty : Math.max(0, Math.min(P, slot - lo * P));
      return k === 0 ? '0' : `cum[least(${k}, cardinality(cum))]`;
    }
    const k = slot === null ? `${empty}` : `greatest(0, least(${P}, ${p.add(slot, 'int')} - period * ${P}))`;
    return `CASE WHEN ${k} > 0 THEN cum[least(${k}, cardinality(cum))] ELSE 0 END`;
  };
  const n = `(${at(end, P)} - ${at(first, 0)})::bigint`;
  const where = `period >= ${p.add(lo, 'int')} AND period <= ${p.add(hi, 'int')}${
    f.userId === undefined ? '' : ` AND user_id = ${p.add(f.userId)}`
  }`;
  const edgeSql = edges.length > 0 ? rawEdges() : null;
  const cum = (part: number | null) =>
    `SELECT user_id, ${n} AS n FROM ${part === null ? 'agg_user_cum' : `agg_user_cum_${part}`} WHERE ${where}`;
  // One user's rows are all in one partition: a userId filter reads one, nothing to split.
  const parts = f.userId === undefined ? Array.from({ length: USER_CUM_PARTS }, (_, k) => k) : [null];
  if (single) {
    // One row per user: the raw edges (a few thousand users, one query for both) are joined on,
    // nothing is regrouped. NOTE: OFFSET 0 makes each user's n computed before the join (else the
    // arrays travel through it) and only once (not again in the filter).
    const total = edgeSql ? 'c.n + coalesce(e.n, 0)' : 'c.n';
    return {
      parts,
      sql: (part) =>
        `SELECT user_id, n FROM (SELECT user_id, ${total} AS n FROM (${cum(part)} OFFSET 0) c${
          edgeSql ? ` LEFT JOIN (${edgeSql(part)}) e USING (user_id)` : ''
        } OFFSET 0) x WHERE n > 0`,
    };
  }
  return {
    parts,
    sql: (part) =>
      `SELECT user_id, sum(n)::bigint AS n FROM (${[cum(part), ...(edgeSql ? [edgeSql(part)] : [])].join('\n UNION ALL \n')}) c
        GROUP BY user_id HAVING sum(n) > 0`,
  };

  /**
   * Per user, the raw rows of every edge, each counted with its sign; for a part, only its users
   * (satisfies_hash_partition: the function PostgreSQL routes agg_user_cum's rows with).
   * NOTE: one index range scan per edge, appended (UNION ALL): with the ranges OR-ed, PostgreSQL
   * picked a bitmap scan and sorted the rows by user_id to group them, and sorting text under the
   * database's libc collation is slow; appended scans are grouped by hashing. Measured on the 5M-row
   * benchmark data (two ~5-hour edges, one part; the two forms interleaved, 22 runs each, p50): the
   * edge rows alone 23 -> 16 ms, the whole statement 40 -> 36 ms.
   */
  function rawEdges(): (part: number | null) => string {
    const filters = andClause(conditions(p, 'i', f, 'raw'));
    const ranges = edges.map((e) => ({
      start: p.add(pgTime(e.start), 'timestamptz'),
      end: p.add(pgTime(e.end), 'timestamptz'),
      sign: e.sign,
    }));
    return (part) => {
      const inPart =
        part === null
          ? ''
          : ` AND satisfies_hash_partition('agg_user_cum'::regclass, ${USER_CUM_PARTS}, ${part}, i.user_id)`;
      const scans = ranges.map(
        (r) => `SELECT i.user_id, ${r.sign} AS s FROM interactions i
                 WHERE i.occurred_at >= ${r.start} AND i.occurred_at < ${r.end}${filters}${inPart}`,
      );
      return `SELECT user_id, sum(s)::bigint AS n FROM (${scans.join('\n UNION ALL ')}) r GROUP BY user_id`;
    };
  }
}

/** Conditions on a users row for "known users matching the user-level filters". */
function populationConditions(p: Params, alias: string, f: Normalized): string[] {
  const out: string[] = [];
  if (f.userId !== undefined) out.push(`${alias}.user_id = ${p.add(f.userId)}`);
  if (f.role !== undefined) out.push(`${alias}.role = ${p.add(f.role, '"Role"')}`);
  if (f.to !== null) out.push(`${alias}.first_seen < ${p.add(pgTime(f.to), 'timestamptz')}`);
  return out;
}

/** A page filter's histogram: the page's own, a directory prefix's ('/docs/'), or none ('none'). */
function pageHistogram(page: NonNullable<Normalized['page']>): { dim: string; key: string } | 'none' {
  if (!page.prefix) return { dim: 'page', key: page.value };
  if (page.value === '') return { dim: 'all', key: '' }; // `*` matches every page
  const depth = page.value.split('/').length - 1;
  return page.value.endsWith('/') && depth <= MAX_PREFIX_DEPTH ? { dim: 'prefix', key: page.value } : 'none';
}

/** The dimension whose per-user count histogram answers these filters alone, if any. */
function histogramFor(f: Normalized): { dim: string; key: string } | null {
  if (f.userId !== undefined || timeFiltered(f)) return null;
  const dims = [
    f.role !== undefined ? { dim: 'role', key: f.role as string } : null,
    f.action !== undefined ? { dim: 'action', key: f.action } : null,
    f.page !== undefined ? pageHistogram(f.page) : null,
  ].filter((d) => d !== null);
  if (dims.length === 0) return { dim: 'all', key: '' };
  return dims.length === 1 && dims[0] !== 'none' ? (dims[0] as { dim: string; key: string }) : null;
}

function tally(rows: { kind: string; role: string | null; v: number | null; c: number }[]): UserStats {
  const histogram: [number, number][] = [];
  const byRole = new Map<string, number>();
  let usersWithActions = 0;
  let population = 0;
  for (const row of rows) {
    if (row.kind === 'h') {
      histogram.push([Number(row.v), Number(row.c)]);
      usersWithActions += Number(row.c);
    } else {
      byRole.set(row.role!, (byRole.get(row.role!) ?? 0) + Number(row.c));
      population += Number(row.c);
    }
  }
  return { usersWithActions, population, byRole, gini: giniFromHistogram(histogram, population) };
}

async function userStats(pool: Queryable, f: Normalized): Promise<UserStats> {
  const hist = histogramFor(f);
  if (hist) {
    // Maintained histograms and population counts: a few hundred rows whatever the number of users.
    // Population: every user; with a role filter, the users whose current role is that role plus,
    // per other current role, those with an interaction recorded with that role.
    const p = new Params();
    const population =
      f.role === undefined
        ? `SELECT 'k', user_role::text, NULL::bigint, users FROM agg_population WHERE event_role = ''`
        : `SELECT 'k', user_role::text, NULL::bigint, users FROM agg_population
            WHERE (event_role = '' AND user_role = ${p.add(f.role, '"Role"')})
               OR (event_role = ${p.add(f.role)} AND user_role <> ${p.add(f.role, '"Role"')})`;
    const { rows } = await pool.query<{ kind: string; role: string | null; v: number | null; c: number }>(
      `SELECT 'h' AS kind, NULL::text AS role, n AS v, users AS c FROM agg_user_hist
        WHERE dim = ${p.add(hist.dim)} AND key = ${p.add(hist.key)} AND users > 0
       UNION ALL ${population}`,
      p.values,
    );
    return tally(rows);
  }
  const src = chooseSource(dimsOf(f), timeFiltered(f), 'user');
  const p = new Params();
  const cumulative =
    timeFiltered(f) && f.role === undefined && f.action === undefined && f.page === undefined;
  const perUser: PerUser = cumulative
    ? await perUserInRange(pool, p, f)
    : wholePerUser(
        src.name === 'users'
          ? `SELECT t.user_id, t.action_count AS n FROM users t WHERE t.action_count > 0${andClause(conditions(p, 't', f, src.name))}`
          : // every range has label 0 here, so countSql's groups are already one per user
            `SELECT key AS user_id, n FROM (${countSql(p, src, f, 'user', rangesFor(src, f))}) c`,
      );
  type Row = { kind: string; role: string | null; v: number | null; c: number };
  const histogram = (pu: string) =>
    `WITH pu AS (${pu}) SELECT 'h' AS kind, NULL::text AS role, n AS v, count(*)::bigint AS c FROM pu GROUP BY n`;
  if (f.role === undefined) {
    // The population does not depend on the per-user counts: its own query, run alongside.
    const q = new Params();
    const everyone = `SELECT 'k' AS kind, user_role::text AS role, NULL::bigint AS v, users AS c
                        FROM agg_population WHERE event_role = ''`;
    const population =
      f.userId === undefined && f.to === null
        ? everyone
        : f.userId === undefined
          ? // Users first seen before `to`: everyone, minus those first seen since (index range).
            `${everyone} UNION ALL
             SELECT 'k', u.role::text, NULL, -count(*)::bigint FROM users u
              WHERE u.first_seen >= ${q.add(pgTime(f.to!), 'timestamptz')} GROUP BY u.role`
          : `SELECT 'k' AS kind, u.role::text AS role, NULL::bigint AS v, count(*)::bigint AS c
               FROM users u${whereClause(populationConditions(q, 'u', f))} GROUP BY u.role`;
    const results = await Promise.all([
      pool.query<Row>(population, q.values),
      ...perUser.parts.map((part) => pool.query<Row>(histogram(perUser.sql(part)), p.values)),
    ]);
    return tally(results.flatMap((r) => r.rows));
  }
  const known = populationConditions(p, 'u', f);
  // NOTE: users with a matching interaction are in the population even when they fail the user-level
  // filters; that can only happen through the role filter (the event's role is not the current one).
  const sql = `${histogram(perUser.sql(null))}
    UNION ALL
    SELECT 'k', u.role::text, NULL, count(*)::bigint FROM users u${whereClause(known)} GROUP BY u.role
    UNION ALL
    SELECT 'x', u.role::text, NULL, count(*)::bigint FROM pu JOIN users u USING (user_id)
     WHERE NOT (${populationConditions(p, 'u', f).join(' AND ')}) GROUP BY u.role`;
  const { rows } = await pool.query<Row>(sql, p.values);
  return tally(rows);
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
    return toMs(out[0]?.t ?? null);
  };
  const [min, max] = await Promise.all([
    f.from === null ? refine('min', lo) : Promise.resolve(null),
    f.to === null ? refine('max', hi) : Promise.resolve(null),
  ]);
  return { min, max };
}

function checkSpan(first: number, last: number): void {
  // Two extra days of slack for zone offsets; the exact count is checked against the day list.
  if ((last - first) / 86_400_000 > STATS_LIMITS.maxDays + 2) {
    throw new StatsInputError('from', `the daily series may span at most ${STATS_LIMITS.maxDays} days`);
  }
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

function assemble(
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
 * Dashboard statistics from the aggregate tables (definitions in stats-types.ts and the processor's
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
 * The same statistics computed naively from raw rows only (interactions and identifies; not even the
 * users table): the reference that tests and the benchmark baseline compare computeStats with.
 */
export async function computeStatsFromRaw(
  pool: pg.Pool,
  filters: InteractionFilters,
  opts: StatsOptions = {},
): Promise<Stats> {
  const f = await normalize(pool, filters, opts);
  const where = (p: Params) => {
    const conds = conditions(p, 'i', f, 'reference');
    if (f.from !== null) conds.push(`i.occurred_at >= ${p.add(pgTime(f.from), 'timestamptz')}`);
    if (f.to !== null) conds.push(`i.occurred_at < ${p.add(pgTime(f.to), 'timestamptz')}`);
    return whereClause(conds);
  };

  const byActionQ = async () => {
    const p = new Params();
    const { rows } = await pool.query<{ key: string; n: number }>(
      `SELECT i.action AS key, count(*)::bigint AS n FROM interactions i${where(p)}
        GROUP BY i.action ORDER BY n DESC, i.action COLLATE "C"`,
      p.values,
    );
    return rows.map((r) => ({ key: r.key, count: Number(r.n) }));
  };
  const pagesQ = async () => {
    const p = new Params();
    const { rows } = await pool.query<{ key: string; n: number }>(
      `SELECT i.page AS key, count(*)::bigint AS n FROM interactions i${where(p)}
        GROUP BY i.page ORDER BY n DESC, i.page COLLATE "C" LIMIT ${p.add(f.topPages)}`,
      p.values,
    );
    return rows.map((r) => ({ key: r.key, count: Number(r.n) }));
  };
  const usersQ = async (): Promise<UserStats> => {
    const p = new Params();
    const matching = where(p);
    const known = populationConditions(p, 'u', f);
    const { rows } = await pool.query<{ role: string; n: number }>(
      `WITH ev AS (
         SELECT user_id, role, occurred_at FROM interactions
         UNION ALL SELECT user_id, role, occurred_at FROM identifies
       ), u AS (
         SELECT user_id, (array_agg(role ORDER BY occurred_at DESC, role DESC))[1] AS role,
                min(occurred_at) AS first_seen
           FROM ev GROUP BY user_id
       ), m AS (
         SELECT i.user_id, count(*)::bigint AS n FROM interactions i${matching} GROUP BY i.user_id
       )
       SELECT u.role::text AS role, coalesce(m.n, 0)::bigint AS n
         FROM u LEFT JOIN m USING (user_id)
        WHERE (${known.length > 0 ? known.join(' AND ') : 'TRUE'}) OR m.user_id IS NOT NULL`,
      p.values,
    );
    const byRole = new Map<string, number>();
    for (const r of rows) byRole.set(r.role, (byRole.get(r.role) ?? 0) + 1);
    const values = rows.map((r) => Number(r.n));
    return {
      usersWithActions: values.filter((v) => v > 0).length,
      population: values.length,
      byRole,
      gini: giniOfValues(values),
    };
  };
  const dailyQ = async () => {
    const p = new Params();
    const tz = p.add(f.tz);
    const { rows } = await pool.query<{ day: string; n: number }>(
      `SELECT to_char(i.occurred_at AT TIME ZONE ${tz}, 'YYYY-MM-DD') AS day, count(*)::bigint AS n
         FROM interactions i${where(p)} GROUP BY 1 ORDER BY 1`,
      p.values,
    );
    const localDay = async (t: number) => {
      const { rows: out } = await pool.query<{ day: string }>(
        `SELECT to_char($1::timestamptz AT TIME ZONE $2, 'YYYY-MM-DD') AS day`,
        [pgTime(t), f.tz],
      );
      return out[0]!.day;
    };
    if (f.from !== null && f.to !== null && f.from >= f.to) return [];
    let first = f.from !== null ? await localDay(f.from) : rows[0]?.day;
    const last = f.to !== null ? await localDay(f.to - 1) : rows[rows.length - 1]?.day;
    if (first === undefined || last === undefined || first > last) return [];
    if (f.from === null) {
      // The same limit as computeStats: at most maxDays days, the last ones, when from is not given.
      const q = new Params();
      const newest =
        f.to !== null
          ? f.to - 1
          : (
              await pool.query<{ t: Date }>(
                `SELECT max(i.occurred_at) AS t FROM interactions i${where(q)}`,
                q.values,
              )
            ).rows[0]!.t.getTime();
      const earliest = await localDay(newest - (STATS_LIMITS.maxDays - 1) * 86_400_000);
      if (earliest > first) first = earliest;
    }
    if (f.from !== null && f.to !== null) checkSpan(f.from, f.to - 1);
    const counts = new Map(rows.map((r) => [r.day, Number(r.n)]));
    return daysBetween(first, last).map((date) => ({ date, count: counts.get(date) ?? 0 }));
  };

  const [byAction, pages, users, days, apiHits] = await Promise.all([
    byActionQ(),
    pagesQ(),
    usersQ(),
    dailyQ(),
    totalApiHits(pool),
  ]);
  return assemble(byAction, pages, users, days, apiHits);
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
