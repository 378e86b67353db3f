// GET /api/sessions/stats' numbers, read from the sessions table (aggregates/sessions.ts). Same
// definition as testing/reports/sessions.ts's sessionStats, which tests compare.
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

const DURATION_MS = '(extract(epoch FROM ended_at - started_at) * 1000)::bigint';

/** Session statistics over the sessions table, in one statement. */
export async function sessionStats(q: Queryable, f: SessionStatsQuery): Promise<SessionStatsResult> {
  const p = new Params();
  const conds: string[] = [];
  if (f.from !== undefined) conds.push(`s.started_at >= ${p.add(pgTime(f.from), 'timestamptz')}`);
  if (f.to !== undefined) conds.push(`s.started_at < ${p.add(pgTime(f.to), 'timestamptz')}`);
  if (f.userId !== undefined) conds.push(`s.user_id = ${p.add(f.userId)}`);
  const touch: string[] = [];
  if (f.role !== undefined) touch.push(`x.role = ${p.add(f.role)}`);
  if (f.page)
    touch.push(
      f.page.prefix ? `starts_with(x.page, ${p.add(f.page.value)})` : `x.page = ${p.add(f.page.value)}`,
    );
  if (touch.length > 0)
    conds.push(
      `EXISTS (SELECT 1 FROM unnest(s.pages, s.roles) AS x(page, role) WHERE ${touch.join(' AND ')})`,
    );
  const top = p.add(f.top, 'int');
  const { rows } = await q.query<{
    sessions: number;
    bounces: number;
    duration_sum: number;
    median_ms: number | null;
    page_views: number;
    entries: { page: string; sessions: number }[];
    exits: { page: string; sessions: number; sessionsWithPage: number }[];
  }>(
    `WITH chosen AS MATERIALIZED (
       SELECT ${DURATION_MS} AS duration_ms, s.bounce, s.page_views, s.entry_page, s.exit_page, s.pages
         FROM sessions s${conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : ''}
     ), entries AS (
       SELECT entry_page AS page, count(*)::int AS n FROM chosen GROUP BY 1 ORDER BY count(*) DESC, entry_page COLLATE "C" LIMIT ${top}
     ), exits AS (
       SELECT exit_page AS page, count(*)::int AS n FROM chosen GROUP BY 1 ORDER BY count(*) DESC, exit_page COLLATE "C" LIMIT ${top}
     ), exit_visits AS (
       SELECT e.page, (SELECT count(*) FROM chosen c WHERE e.page = ANY(c.pages))::int AS visits FROM exits e
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
  const r = rows[0]!;
  const n = r.sessions;
  return {
    sessions: n,
    bounceRate: n === 0 ? 0 : r.bounces / n,
    meanDurationMs: n === 0 ? 0 : Number(r.duration_sum) / n,
    medianDurationMs: Number(r.median_ms ?? 0),
    pagesPerSession: n === 0 ? 0 : Number(r.page_views) / n,
    entryPages: r.entries,
    exitPages: r.exits.map((x) => ({ ...x, exitRate: x.sessions / x.sessionsWithPage })),
  };
}
