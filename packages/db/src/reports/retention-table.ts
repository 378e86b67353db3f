// Retention cohorts in SQL (issue 26): calendar periods in the viewer's time zone. Start and return
// steps that only name actions read the activity aggregates (agg_user_first, agg_user_action_15m);
// steps with a page or role read raw interactions. Same definition as testing/reports/retention.ts's
// retention, which tests compare.
import type { Queryable } from '../snapshot.js';
import { Params, pgTime } from '../stats/sql.js';
import { type Step, stepCondition } from './step.js';

export interface RetentionQuery {
  /** Default: any event. */
  start?: Step;
  return?: Step;
  period: 'day' | 'week' | 'month';
  /** An IANA name PostgreSQL knows (validateTimeZone). */
  tz: string;
  cohort: 'first' | 'recurring';
  mode: 'on' | 'onOrAfter';
  /** Cohorts whose start event is in [from, to); from defaults to the start of the period `periods` before the one holding to − 1 ms. */
  from?: number;
  to: number;
  /** Only this user's events. */
  userId?: string;
  /** Periods after period 0 in each row. */
  periods: number;
  now: number;
  /** Read raw interactions even where the activity aggregates could answer (the benchmark's baseline). */
  raw?: boolean;
}

export interface RetentionTable {
  rows: { period: number; size: number; cells: (number | null)[]; partial: number | null }[];
  /** Per k: Σ cells ÷ Σ sizes over the rows whose period k has ended (null when none has). */
  mean: (number | null)[];
  /** The cohort range's start used (the query's, or the default). */
  from: number;
}

/**
 * The period of timestamptz `col` in time zone `tz`, numbered like periodIndex: days since
 * 1970-01-01 of the local date, weeks from Monday ((day + 3) / 7: 1970-01-01 was a Thursday), months
 * as year × 12 + month − 1. In float8 (date_part, / 7.0::float8), not numeric (extract, / 7.0):
 * cheaper per row and exact for any date.
 */
function periodOf(col: string, tz: string, period: RetentionQuery['period']): string {
  const day = `((${col} AT TIME ZONE ${tz})::date - DATE '1970-01-01')`;
  if (period === 'day') return day;
  if (period === 'week') return `floor((${day} + 3) / 7.0::float8)::int`;
  const local = `(${col} AT TIME ZONE ${tz})`;
  return `(date_part('year', ${local})::int * 12 + date_part('month', ${local})::int - 1)`;
}

const QUARTER_MS = 900_000;

/** A start or return step that only names actions (or is any event): the activity aggregates answer it. */
const byActionOnly = (s: Step | undefined) =>
  s === undefined || (s.page === undefined && s.role === undefined);

export async function retentionTable(q: Queryable, r: RetentionQuery): Promise<RetentionTable> {
  const p = new Params();
  const tz = p.add(r.tz);
  const fromMs = r.from ?? (await firstPeriodStart(q, r));
  const from = p.add(pgTime(fromMs), 'timestamptz');
  const to = p.add(pgTime(r.to), 'timestamptz');
  const nowPeriod = p.add(pgTime(r.now), 'timestamptz');
  const userId = r.userId === undefined ? undefined : p.add(r.userId, 'text');
  const user = userId === undefined ? '' : ` AND e.user_id = ${userId}`;
  const periods = p.add(r.periods, 'int');
  // Functions: a condition's parameters are added only when a statement uses it.
  const start = () => `${r.start ? stepCondition(p, r.start) : 'true'}${user}`;
  const back = () => `${r.return ? stepCondition(p, r.return) : 'true'}${user}`;
  const period = (col: string) => periodOf(col, tz, r.period);
  // First-time: each user's first start event ever (then kept when in range); recurring: every
  // period with a start event in range.
  let cohorts = () =>
    r.cohort === 'first'
      ? `SELECT user_id, ${period('first_at')} AS cohort FROM (
           SELECT e.user_id, min(e.occurred_at) AS first_at FROM interactions e WHERE ${start()} GROUP BY e.user_id
         ) f WHERE first_at >= ${from} AND first_at < ${to}`
      : `SELECT DISTINCT e.user_id, ${period('e.occurred_at')} AS cohort FROM interactions e
          WHERE ${start()} AND e.occurred_at >= ${from} AND e.occurred_at < ${to}`;
  let returns = () => `SELECT DISTINCT e.user_id, ${period('e.occurred_at')} AS period FROM interactions e
       WHERE ${back()} AND e.user_id IN (SELECT user_id FROM cohorts) AND e.occurred_at >= ${from}`;
  if (!r.raw && byActionOnly(r.start) && byActionOnly(r.return)) {
    // The same sets from the activity aggregates (agg_user_first, agg_user_action_15m): a period is
    // a union of quarter-hours. Returns before `from` (from its quarter on here) fall in periods
    // before every cohort's, which no cell counts; a recurring cohort's partial quarter-hours at the
    // range's ends come from raw rows.
    const userA = userId === undefined ? '' : ` AND a.user_id = ${userId}`;
    const startActions = () => p.add(r.start?.actions ?? [''], 'text[]');
    const quarterOf = (t: number) => Math.floor(t / QUARTER_MS) * QUARTER_MS;
    // One start action (or any event): the table's row is the user's first, no grouping needed.
    const firsts = () =>
      (r.start?.actions?.length ?? 1) === 1
        ? `SELECT a.user_id, a.first_at FROM agg_user_first a WHERE a.action = ANY(${startActions()})${userA}`
        : `SELECT a.user_id, min(a.first_at) AS first_at FROM agg_user_first a
            WHERE a.action = ANY(${startActions()})${userA} GROUP BY a.user_id`;
    if (r.cohort === 'first')
      cohorts = () => `SELECT user_id, ${period('first_at')} AS cohort FROM (${firsts()}) f
         WHERE first_at >= ${from} AND first_at < ${to}`;
    else {
      const lo = quarterOf(fromMs + QUARTER_MS - 1);
      const hi = quarterOf(r.to);
      if (lo < hi) {
        const [loAt, hiAt] = [p.add(pgTime(lo), 'timestamptz'), p.add(pgTime(hi), 'timestamptz')];
        cohorts = () => `SELECT DISTINCT user_id, cohort FROM (
             SELECT a.user_id, ${period('a.bucket')} AS cohort FROM agg_user_action_15m a
              WHERE a.action = ANY(${startActions()}) AND a.bucket >= ${loAt} AND a.bucket < ${hiAt}${userA}
             UNION ALL
             SELECT e.user_id, ${period('e.occurred_at')} FROM interactions e
              WHERE ${start()} AND ((e.occurred_at >= ${from} AND e.occurred_at < ${loAt})
                              OR (e.occurred_at >= ${hiAt} AND e.occurred_at < ${to}))
           ) x`;
      }
    }
    returns =
      () => `SELECT DISTINCT ON (a.user_id COLLATE "C", period) a.user_id, ${period('a.bucket')} AS period
       FROM agg_user_action_15m a
       WHERE a.action = ANY(${p.add(r.return?.actions ?? [''], 'text[]')}) AND a.user_id IN (SELECT user_id FROM cohorts)
         AND a.bucket >= ${p.add(pgTime(quarterOf(fromMs)), 'timestamptz')}${userA}
       ORDER BY a.user_id COLLATE "C", period`;
  }
  const sql = `
    WITH cohorts AS MATERIALIZED (${cohorts()}),
    now_p AS (SELECT ${period(nowPeriod)} AS now),
    returns AS MATERIALIZED (${returns()}),
    -- on: one row per (user, cohort, period back); on or after: back in k when the user's last
    -- return (up to now) is k or more periods after the cohort. Linear in returns, not × periods.
    cells AS MATERIALIZED (${
      r.mode === 'on'
        ? `SELECT c.cohort, x.period - c.cohort AS k, count(*) AS users
             FROM cohorts c JOIN returns x USING (user_id)
            WHERE x.period - c.cohort BETWEEN 1 AND ${periods} AND x.period <= (SELECT now FROM now_p)
            GROUP BY 1, 2`
        : `SELECT c.cohort, k, count(*) AS users
             FROM cohorts c
             JOIN (SELECT user_id, max(period) AS last FROM returns
                    WHERE period <= (SELECT now FROM now_p) GROUP BY user_id) m USING (user_id)
            CROSS JOIN LATERAL generate_series(1, least(${periods}, m.last - c.cohort)) AS k
            GROUP BY 1, 2`
    }
    )
    SELECT c.cohort, count(*)::int AS size, (SELECT now FROM now_p) AS now,
           coalesce((SELECT json_object_agg(k, users) FROM cells WHERE cells.cohort = c.cohort), '{}') AS cells
      FROM cohorts c GROUP BY c.cohort ORDER BY c.cohort`;
  const { rows } = await q.query<{
    cohort: number;
    size: number;
    now: number;
    cells: Record<string, number>;
  }>(sql, p.values);
  const now =
    rows[0]?.now ??
    (
      await q.query<{ now: number }>(`SELECT ${periodOf('$1::timestamptz', '$2', r.period)} AS now`, [
        pgTime(r.now),
        r.tz,
      ])
    ).rows[0]!.now;
  const table = rows.map((row) => {
    const cells: (number | null)[] = [row.size];
    for (let k = 1; k <= r.periods; k += 1)
      cells.push(row.cohort + k > now ? null : Number(row.cells[k] ?? 0));
    const partialAt = now - row.cohort;
    return { period: row.cohort, size: row.size, cells, partial: partialAt <= r.periods ? partialAt : null };
  });
  const mean: (number | null)[] = [];
  for (let k = 0; k <= r.periods; k += 1) {
    const ended = table.filter((t) => t.period + k < now);
    const size = ended.reduce((a, t) => a + t.size, 0);
    mean.push(size === 0 ? null : ended.reduce((a, t) => a + (t.cells[k] ?? 0), 0) / size);
  }
  return { rows: table, mean, from: fromMs };
}

/** The start of the period `periods` before the one holding the range's last instant, in the time zone. */
async function firstPeriodStart(q: Queryable, r: RetentionQuery): Promise<number> {
  const { rows } = await q.query<{ ms: string }>(
    `SELECT (extract(epoch FROM (date_trunc($1, $2::timestamptz AT TIME ZONE $3) - make_interval(
        days => CASE WHEN $1 = 'day' THEN $4::int ELSE 0 END,
        weeks => CASE WHEN $1 = 'week' THEN $4::int ELSE 0 END,
        months => CASE WHEN $1 = 'month' THEN $4::int ELSE 0 END)) AT TIME ZONE $3) * 1000)::bigint AS ms`,
    [r.period, pgTime(r.to - 1), r.tz, r.periods],
  );
  return Number(rows[0]!.ms);
}

/** The local date a period starts on (YYYY-MM-DD): the day, the Monday of the week, the first of the month. */
export function periodStartDate(index: number, period: RetentionQuery['period']): string {
  const day =
    period === 'day'
      ? index
      : period === 'week'
        ? index * 7 - 3
        : Date.UTC(Math.floor(index / 12), index % 12, 1) / 86_400_000;
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}
