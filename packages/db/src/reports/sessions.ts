// Sessions from raw interactions in SQL: what the sessions table is kept, rebuilt and reconciled with
// (aggregates/sessions.ts). Same definition as testing/reports/sessions.ts's sessionsOf, which tests compare.
import { Prisma } from '../client.js';
import type { Queryable } from '../snapshot.js';
import { pgTime } from '../stats/sql.js';

/** What splits a user's events without a client session id into sessions. */
export interface SessionRules {
  /** A gap at least this long starts a new session. */
  gapMs: number;
  /** An event at least this long after the session's first event starts a new one. */
  maxMs: number;
}

/** TRACKER_SESSION_GAP_MINUTES' range and default, for the config schemas that read it. */
export const SESSION_GAP_MINUTES = { minimum: 1, maximum: 1440, default: 30 } as const;

/** The rules for a gap of `gapMinutes` (default 30) and the 24 h cap. */
export function sessionRulesOf(gapMinutes: number = SESSION_GAP_MINUTES.default): SessionRules {
  return { gapMs: gapMinutes * 60_000, maxMs: 24 * 3_600_000 };
}

export const DEFAULT_SESSION_RULES: SessionRules = sessionRulesOf();

/** The sessions table's columns, in the order sessionsSql returns them. */
export const SESSION_COLUMNS = [
  'user_id',
  'session_key',
  'session_id',
  'chain_start',
  'started_at',
  'ended_at',
  'events',
  'page_views',
  'entry_page',
  'exit_page',
  'bounce',
  'pages',
  'roles',
] as const;

/** `ms` as a bound interval parameter. */
export const intervalOf = (ms: number) => Prisma.sql`${`${ms} milliseconds`}::interval`;

/**
 * The sessions (SESSION_COLUMNS) of the events `ev` selects: a relation with interactions' user_id,
 * session_id, occurred_at, event_id, action, page and role. `ev` must hold whole chains: for each user,
 * no event it leaves out lies less than the gap before or after one it holds. Events without a
 * session id are split into chains at gaps ≥ gapMs (window functions); a chain longer than maxMs is
 * cut where an event is ≥ maxMs after the current session's first (a recursive step per cut, over the
 * long chains' events only). Events with a session id group by it. Order within a user: occurred_at,
 * then event_id (equal instants never merge into one position).
 */
export function sessionsSql(ev: Prisma.Sql, rules: SessionRules): Prisma.Sql {
  const gap = intervalOf(rules.gapMs);
  const cap = intervalOf(rules.maxMs);
  return Prisma.sql`
  WITH RECURSIVE ev AS MATERIALIZED (${ev}),
  marked AS (
    SELECT e.user_id, e.occurred_at, e.event_id, e.action, e.page, e.role,
           CASE WHEN lag(occurred_at) OVER w IS NULL OR occurred_at - lag(occurred_at) OVER w >= ${gap}
                THEN 1 ELSE 0 END AS brk
      FROM ev e WHERE session_id IS NULL
    WINDOW w AS (PARTITION BY user_id ORDER BY occurred_at, event_id)
  ), chained AS MATERIALIZED (
    SELECT m.*, sum(brk) OVER (PARTITION BY user_id ORDER BY occurred_at, event_id) AS chain FROM marked m
  ), chains AS MATERIALIZED (
    SELECT user_id, chain, min(occurred_at) AS first_at, max(occurred_at) AS last_at
      FROM chained GROUP BY user_id, chain
  ), long_ev AS MATERIALIZED (
    SELECT c.user_id, c.chain, c.occurred_at FROM chained c JOIN chains l USING (user_id, chain)
     WHERE l.last_at >= l.first_at + ${cap}
  ), starts AS (
    SELECT user_id, chain, first_at AS start_at, last_at FROM chains
    UNION ALL
    SELECT s.user_id, s.chain, n.next_at, s.last_at
      FROM starts s
     CROSS JOIN LATERAL (
       SELECT min(c.occurred_at) AS next_at FROM long_ev c
        WHERE c.user_id = s.user_id AND c.chain = s.chain AND c.occurred_at >= s.start_at + ${cap}
     ) n
     WHERE s.last_at >= s.start_at + ${cap}
  ), inferred AS (
    -- Each event's session starts at the latest start at or before it (all events at a start's instant
    -- are marked, so equal instants never straddle a cut).
    SELECT c.*, max(s.start_at) OVER (PARTITION BY c.user_id, c.chain ORDER BY c.occurred_at, c.event_id) AS start_at
      FROM chained c LEFT JOIN starts s ON s.user_id = c.user_id AND s.chain = c.chain AND s.start_at = c.occurred_at
  ), tagged AS (
    SELECT i.user_id, 't:' || (extract(epoch FROM i.start_at) * 1000)::bigint AS session_key, NULL::text AS session_id,
           ch.first_at AS chain_start, i.occurred_at, i.event_id, i.action, i.page, i.role
      FROM inferred i JOIN chains ch USING (user_id, chain)
    UNION ALL
    SELECT user_id, 's:' || session_id, session_id, NULL, occurred_at, event_id, action, page, role
      FROM ev WHERE session_id IS NOT NULL
  ), pairs AS (
    SELECT DISTINCT user_id, session_key, page, role FROM tagged
  ), paired AS (
    SELECT user_id, session_key, array_agg(page ORDER BY page, role) AS pages,
           array_agg(role ORDER BY page, role) AS roles
      FROM pairs GROUP BY user_id, session_key
  ), summed AS (
    SELECT user_id, session_key, min(session_id) AS session_id, min(chain_start) AS chain_start,
           min(occurred_at) AS started_at, max(occurred_at) AS ended_at, count(*)::int AS events,
           (count(*) FILTER (WHERE action = 'page_view'))::int AS page_views,
           (array_agg(page ORDER BY occurred_at, event_id))[1] AS entry_page,
           (array_agg(page ORDER BY occurred_at DESC, event_id DESC))[1] AS exit_page,
           count(*) = 1 AND bool_and(action = 'page_view') AS bounce
      FROM tagged GROUP BY user_id, session_key
  )
  SELECT s.user_id, s.session_key, s.session_id, s.chain_start, s.started_at, s.ended_at, s.events,
         s.page_views, s.entry_page, s.exit_page, s.bounce, p.pages, p.roles
    FROM summed s JOIN paired p USING (user_id, session_key)`;
}

/** Interactions' columns as sessionsSql's `ev` reads them (role as text), from `alias`. */
export const sessionEventColumns = (alias: string) =>
  Prisma.raw(
    `${alias}.user_id, ${alias}.session_id, ${alias}.occurred_at, ${alias}.event_id, ${alias}.action, ${alias}.page, ${alias}.role::text AS role`,
  );

export interface SessionRow {
  userId: string;
  /** `s:<sessionId>` for the client's id, else `t:<first event's epoch ms>`. */
  key: string;
  start: number;
  end: number;
  events: number;
  pageViews: number;
  entryPage: string;
  exitPage: string;
  bounce: boolean;
}

export interface SessionQuery {
  userIds: readonly string[];
  /** Events in [from, to). Bounds must fall in gaps of at least the rules' gap (whole chains). */
  from: number;
  to: number;
  rules?: SessionRules;
}

/** The sessions of `userIds` from their raw events in [from, to). */
export async function sessionsOfUsers(q: Queryable, query: SessionQuery): Promise<SessionRow[]> {
  const sql = sessionsSql(
    Prisma.sql`SELECT ${sessionEventColumns('i')} FROM interactions i
                WHERE i.user_id = ANY(${query.userIds}::text[])
                  AND i.occurred_at >= ${pgTime(query.from)}::timestamptz AND i.occurred_at < ${pgTime(query.to)}::timestamptz`,
    query.rules ?? DEFAULT_SESSION_RULES,
  );
  const { rows } = await q.query<SessionColumns>(
    `SELECT * FROM (${sql.text}) s ORDER BY started_at, user_id, session_key`,
    sql.values,
  );
  return rows.map(sessionRowOf);
}

/** The columns of a sessions row (or of sessionsSql's) that SessionRow holds, as node-postgres reads them. */
export interface SessionColumns {
  user_id: string;
  session_key: string;
  started_at: Date;
  ended_at: Date;
  events: number;
  page_views: number;
  entry_page: string;
  exit_page: string;
  bounce: boolean;
}

export function sessionRowOf(r: SessionColumns): SessionRow {
  return {
    userId: r.user_id,
    key: r.session_key,
    start: r.started_at.getTime(),
    end: r.ended_at.getTime(),
    events: r.events,
    pageViews: r.page_views,
    entryPage: r.entry_page,
    exitPage: r.exit_page,
    bounce: r.bounce,
  };
}
