// GET /api/sessions/stats' numbers: whole UTC days from the per-day tables (aggregates/session-days.ts)
// and the rest of the range from the sessions table (aggregates/sessions.ts); with a user or page
// filter, all from the sessions table. Same definition as testing/reports/sessions.ts's sessionStats,
// which tests compare.
import { durationMsOf } from '../aggregates/session-days.js';
import type { Queryable } from '../snapshot.js';
import { Params, pgTime } from '../stats/sql.js';
import type { Step } from './step.js';

export interface SessionStatsQuery {
  /** Sessions that start in [from, to). */
  from?: number;
  to?: number;
  userId?: string;
  /** Sessions holding at least one event with this role and page (filters select sessions, not events). */
  role?: string;
  page?: Step['page'];
  /** Entry and exit pages listed, most sessions first. */
  top: number;
}

export interface SessionStatsResult {
  sessions: number;
  bounceRate: number;
  meanDurationMs: number;
  medianDurationMs: number;
  pagesPerSession: number;
  entryPages: { page: string; sessions: number }[];
  /** exitRate: sessions that ended on the page ÷ sessions (of those counted) that included it. */
  exitPages: { page: string; sessions: number; sessionsWithPage: number; exitRate: number }[];
}

const DURATION_MS = durationMsOf('s');
const DAY_MS = 86_400_000;

/** Session statistics, in one statement. */
export function sessionStats(q: Queryable, f: SessionStatsQuery): Promise<SessionStatsResult> {
  return f.userId === undefined && !f.page ? fromDayTables(q, f) : fromSessionsTable(q, f);
}

/** The statement's row: counts summed over the sessions chosen, the median and the page lists. */
interface StatsRow {
  sessions: number;
  bounces: number;
  duration_sum: number;
  median_ms: number | null;
  page_views: number;
  entries: { page: string; sessions: number }[];
  exits: { page: string; sessions: number; sessionsWithPage: number }[];
}

function resultOf(r: StatsRow): SessionStatsResult {
  const n = Number(r.sessions);
  return {
    sessions: n,
    bounceRate: n === 0 ? 0 : Number(r.bounces) / n,
    meanDurationMs: n === 0 ? 0 : Number(r.duration_sum) / n,
    medianDurationMs: Number(r.median_ms ?? 0),
    pagesPerSession: n === 0 ? 0 : Number(r.page_views) / n,
    entryPages: r.entries,
    exitPages: r.exits.map((x) => ({ ...x, exitRate: x.sessions / x.sessionsWithPage })),
  };
}

/**
 * No user or page filter: the whole UTC days in [from, to) summed from the per-day tables (under the
 * role, or '' for all), the partial days at either end counted from the sessions rows that start in
 * them. The median: the duration classes' counts give the class holding it and its rank there; that
 * rank is read from the range's sessions of that one class (index on duration_bucket, started_at).
 */
async function fromDayTables(q: Queryable, f: SessionStatsQuery): Promise<SessionStatsResult> {
  const p = new Params();
  const role = p.add(f.role ?? '');
  const at = (t: number) => p.add(pgTime(t), 'timestamptz');
  const first = f.from === undefined ? undefined : Math.ceil(f.from / DAY_MS) * DAY_MS;
  const end = f.to === undefined ? undefined : Math.floor(f.to / DAY_MS) * DAY_MS;
  const inRange: string[] = [];
  if (f.from !== undefined) inRange.push(`s.started_at >= ${at(f.from)}`);
  if (f.to !== undefined) inRange.push(`s.started_at < ${at(f.to)}`);
  const days: string[] = [];
  const edges: string[] = [];
  if (first !== undefined && end !== undefined && first >= end) {
    days.push('false');
    edges.push(inRange.join(' AND '));
  } else {
    if (first !== undefined) {
      days.push(`day >= (${at(first)} AT TIME ZONE 'UTC')::date`);
      edges.push(`(s.started_at >= ${at(f.from!)} AND s.started_at < ${at(first)})`);
    }
    if (end !== undefined) {
      days.push(`day < (${at(end)} AT TIME ZONE 'UTC')::date`);
      edges.push(`(s.started_at >= ${at(end)} AND s.started_at < ${at(f.to!)})`);
    }
  }
  const hasRole = f.role === undefined ? '' : ` AND ${role} = ANY(s.roles)`;
  const dayWhere = `role = ${role}${days.map((d) => ` AND ${d}`).join('')}`;
  const edgeWhere = `(${edges.length > 0 ? edges.join(' OR ') : 'false'})${hasRole}`;
  const chosen = `${inRange.length > 0 ? inRange.join(' AND ') : 'true'}${hasRole}`;
  const top = p.add(f.top, 'int');
  const { rows } = await q.query<StatsRow>(
    // The edge's sessions counted here as the per-day tables count them (aggregates/session-days.ts),
    // under the one role asked for; "included" (sessionsWithPage) only for the exit pages listed.
    `WITH edge AS MATERIALIZED (
       SELECT s.bounce, s.page_views, ${DURATION_MS} AS duration_ms, s.duration_bucket, s.entry_page, s.exit_page, s.pages
         FROM sessions s WHERE ${edgeWhere}
     ), parts AS (
       SELECT 'day' AS kind, '' AS key, sessions AS a, bounces AS b, duration_ms AS c, page_views AS d
         FROM session_days WHERE ${dayWhere}
       UNION ALL SELECT 'page', page, entries, exits, sessions, 0 FROM session_day_pages WHERE ${dayWhere}
       UNION ALL SELECT 'bucket', bucket::text, sessions, 0, 0, 0 FROM session_day_durations WHERE ${dayWhere}
       UNION ALL SELECT 'day', '', count(*), count(*) FILTER (WHERE bounce), coalesce(sum(duration_ms), 0), coalesce(sum(page_views), 0) FROM edge
       UNION ALL SELECT 'page', entry_page, count(*), 0, 0, 0 FROM edge GROUP BY entry_page
       UNION ALL SELECT 'page', exit_page, 0, count(*), 0, 0 FROM edge GROUP BY exit_page
       UNION ALL SELECT 'bucket', duration_bucket::text, count(*), 0, 0, 0 FROM edge GROUP BY duration_bucket
     ), t AS MATERIALIZED (
       SELECT kind, key, sum(a)::bigint AS a, sum(b)::bigint AS b, sum(c)::bigint AS c, sum(d)::bigint AS d
         FROM parts GROUP BY kind, key
     ), totals AS (
       SELECT coalesce(sum(a), 0)::bigint AS sessions, coalesce(sum(b), 0)::bigint AS bounces,
              coalesce(sum(c), 0)::bigint AS duration_sum, coalesce(sum(d), 0)::bigint AS page_views
         FROM t WHERE kind = 'day'
     ), cum AS (
       SELECT key::int AS bucket, a AS n, sum(a) OVER (ORDER BY key::int) AS upto FROM t WHERE kind = 'bucket' AND a > 0
     ), pick AS MATERIALIZED (
       SELECT c.bucket, ceil(x.sessions / 2.0)::bigint - (c.upto - c.n) AS rank
         FROM cum c, totals x WHERE c.upto >= ceil(x.sessions / 2.0) ORDER BY c.bucket LIMIT 1
     ), median AS (
       SELECT z.d FROM pick CROSS JOIN LATERAL (
         SELECT y.d, row_number() OVER (ORDER BY y.d) AS rn FROM (
           SELECT ${DURATION_MS} AS d FROM sessions s WHERE s.duration_bucket = pick.bucket AND ${chosen}
         ) y
       ) z WHERE z.rn = pick.rank
     )
     SELECT x.*, (SELECT d FROM median) AS median_ms,
            (SELECT coalesce(json_agg(json_build_object('page', key, 'sessions', a) ORDER BY a DESC, key COLLATE "C"), '[]')
               FROM (SELECT key, a FROM t WHERE kind = 'page' AND a > 0 ORDER BY a DESC, key COLLATE "C" LIMIT ${top}) e) AS entries,
            (SELECT coalesce(json_agg(json_build_object('page', key, 'sessions', b,
                                      'sessionsWithPage', c + (SELECT count(*) FROM edge WHERE key = ANY(edge.pages)))
                                      ORDER BY b DESC, key COLLATE "C"), '[]')
               FROM (SELECT key, b, c FROM t WHERE kind = 'page' AND b > 0 ORDER BY b DESC, key COLLATE "C" LIMIT ${top}) e) AS exits
       FROM totals x`,
    p.values,
  );
  return resultOf(rows[0]!);
}

/** A user or page filter: over the sessions table's rows that match. */
async function fromSessionsTable(q: Queryable, f: SessionStatsQuery): Promise<SessionStatsResult> {
  const p = new Params();
  const conds: string[] = [];
  if (f.from !== undefined) conds.push(`s.started_at >= ${p.add(pgTime(f.from), 'timestamptz')}`);
  if (f.to !== undefined) conds.push(`s.started_at < ${p.add(pgTime(f.to), 'timestamptz')}`);
  if (f.userId !== undefined) conds.push(`s.user_id = ${p.add(f.userId)}`);
  if (f.page && f.role === undefined) {
    // A page alone: array tests, cheaper than pairing pages with roles. A prefix becomes the pages
    // sessions have that start with it (every session's pages are in session_day_pages under '').
    const page = p.add(f.page.value);
    conds.push(
      f.page.prefix
        ? `s.pages && ARRAY(SELECT DISTINCT d.page FROM session_day_pages d WHERE d.role = '' AND starts_with(d.page, ${page}))`
        : `${page} = ANY(s.pages)`,
    );
  } else if (f.role !== undefined) {
    // On one event: the (page, role) pairs.
    const touch = [`x.role = ${p.add(f.role)}`];
    if (f.page)
      touch.push(
        f.page.prefix ? `starts_with(x.page, ${p.add(f.page.value)})` : `x.page = ${p.add(f.page.value)}`,
      );
    conds.push(
      `EXISTS (SELECT 1 FROM unnest(s.pages, s.roles) AS x(page, role) WHERE ${touch.join(' AND ')})`,
    );
  }
  const top = p.add(f.top, 'int');
  const { rows } = await q.query<StatsRow>(
    `WITH chosen AS MATERIALIZED (
       SELECT ${DURATION_MS} AS duration_ms, s.bounce, s.page_views, s.entry_page, s.exit_page, s.pages
         FROM sessions s${conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : ''}
     ), entries AS (
       SELECT entry_page AS page, count(*)::int AS n FROM chosen GROUP BY 1 ORDER BY count(*) DESC, entry_page COLLATE "C" LIMIT ${top}
     ), exits AS (
       SELECT exit_page AS page, count(*)::int AS n FROM chosen GROUP BY 1 ORDER BY count(*) DESC, exit_page COLLATE "C" LIMIT ${top}
     ), exit_visits AS (
       SELECT e.page, count(*)::int AS visits FROM chosen c JOIN exits e ON e.page = ANY(c.pages) GROUP BY e.page
     )
     SELECT count(*)::int AS sessions, (count(*) FILTER (WHERE bounce))::int AS bounces,
            coalesce(sum(duration_ms), 0)::bigint AS duration_sum,
            percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS median_ms,
            coalesce(sum(page_views), 0)::bigint AS page_views,
            (SELECT coalesce(json_agg(json_build_object('page', page, 'sessions', n) ORDER BY n DESC, page COLLATE "C"), '[]')
               FROM entries) AS entries,
            (SELECT coalesce(json_agg(json_build_object('page', e.page, 'sessions', e.n, 'sessionsWithPage', v.visits)
                                      ORDER BY e.n DESC, e.page COLLATE "C"), '[]')
               FROM exits e JOIN exit_visits v USING (page)) AS exits
       FROM chosen`,
    p.values,
  );
  return resultOf(rows[0]!);
}
