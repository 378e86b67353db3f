// The per-user statistics (population, users with actions, role distribution, Gini): maintained
// histograms where they answer the filters, else per-user counts over the time range.
import {
  BUCKET_ORIGIN_MS,
  CUM_PERIOD_SLOTS,
  CUM_SLOT_MS,
  MAX_PREFIX_DEPTH,
  USER_CUM_PARTS,
} from '../aggregates/catalog.js';
import type { Queryable } from '../snapshot.js';
import { dimsOf, type Normalized, timeFiltered } from './input.js';
import { chooseSource, giniFromHistogram } from './plan.js';
import {
  andClause,
  conditions,
  countSql,
  Params,
  pgTime,
  populationConditions,
  rangesFor,
  whereClause,
} from './sql.js';

export interface UserStats {
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
   * NOTE: one index range scan per edge, appended (UNION ALL) and grouped by hashing: with the
   * ranges OR-ed, PostgreSQL sorts the rows by user_id, and sorting text under libc collation is slow.
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

export async function userStats(pool: Queryable, f: Normalized): Promise<UserStats> {
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
