// Sessions recomputed from raw interactions in SQL: the step a sessions table is maintained and
// rebuilt with (issue 26). Same definition as testing/reports/sessions.ts's sessionsOf, which tests compare.
import type { Queryable } from '../snapshot.js';
import { pgTime } from '../stats/sql.js';

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
  /** Events in [from, to). Bounds must fall in gaps of at least inactivityMs (whole chains). */
  from: number;
  to: number;
  /** Default 30 min: a gap at least this long starts a new session. */
  inactivityMs?: number;
  /** Default 24 h: an event at least this long after a session's first event starts a new one. */
  maxMs?: number;
}

/**
 * Events without a sessionId are split into chains at gaps ≥ inactivityMs (window functions); a chain
 * longer than maxMs is cut where an event is ≥ maxMs after the current session's first (a recursive
 * step per cut, so only the rare chains over 24 h iterate). Events with a sessionId group by it.
 * Order within a user: occurred_at, then event_id (equal instants never merge into one position).
 */
const SESSIONS_SQL = `
  WITH RECURSIVE ev AS (
    SELECT user_id, session_id, occurred_at, event_id, action, page
      FROM interactions
     WHERE user_id = ANY($1::text[]) AND occurred_at >= $2::timestamptz AND occurred_at < $3::timestamptz
  ), marked AS (
    SELECT e.*, CASE WHEN lag(occurred_at) OVER w IS NULL
                       OR occurred_at - lag(occurred_at) OVER w >= $4::interval THEN 1 ELSE 0 END AS brk
      FROM ev e WHERE session_id IS NULL
    WINDOW w AS (PARTITION BY user_id ORDER BY occurred_at, event_id)
  ), chained AS (
    SELECT m.*, sum(brk) OVER (PARTITION BY user_id ORDER BY occurred_at, event_id) AS chain FROM marked m
  ), chains AS (
    SELECT user_id, chain, min(occurred_at) AS first_at, max(occurred_at) AS last_at
      FROM chained GROUP BY user_id, chain
  ), starts AS (
    SELECT user_id, chain, first_at AS start_at, last_at FROM chains
    UNION ALL
    SELECT s.user_id, s.chain, n.next_at, s.last_at
      FROM starts s
     CROSS JOIN LATERAL (
       SELECT min(c.occurred_at) AS next_at FROM chained c
        WHERE c.user_id = s.user_id AND c.chain = s.chain AND c.occurred_at >= s.start_at + $5::interval
     ) n
     WHERE s.last_at >= s.start_at + $5::interval
  ), inferred AS (
    SELECT c.*, (SELECT max(s.start_at) FROM starts s
                  WHERE s.user_id = c.user_id AND s.chain = c.chain AND s.start_at <= c.occurred_at) AS start_at
      FROM chained c
  ), tagged AS (
    SELECT user_id, 't:' || (extract(epoch FROM start_at) * 1000)::bigint AS key, occurred_at, event_id, action, page
      FROM inferred
    UNION ALL
    SELECT user_id, 's:' || session_id, occurred_at, event_id, action, page FROM ev WHERE session_id IS NOT NULL
  )
  SELECT user_id, key,
         (extract(epoch FROM min(occurred_at)) * 1000)::bigint AS start_ms,
         (extract(epoch FROM max(occurred_at)) * 1000)::bigint AS end_ms,
         count(*)::int AS events,
         (count(*) FILTER (WHERE action = 'page_view'))::int AS page_views,
         (array_agg(page ORDER BY occurred_at, event_id))[1] AS entry_page,
         (array_agg(page ORDER BY occurred_at DESC, event_id DESC))[1] AS exit_page,
         count(*) = 1 AND bool_and(action = 'page_view') AS bounce
    FROM tagged
   GROUP BY user_id, key
   ORDER BY start_ms, user_id, key`;

/** The sessions of `userIds` from their raw events in [from, to). */
export async function sessionsOfUsers(q: Queryable, query: SessionQuery): Promise<SessionRow[]> {
  const { rows } = await q.query<{
    user_id: string;
    key: string;
    start_ms: string;
    end_ms: string;
    events: number;
    page_views: number;
    entry_page: string;
    exit_page: string;
    bounce: boolean;
  }>(SESSIONS_SQL, [
    query.userIds,
    pgTime(query.from),
    pgTime(query.to),
    `${query.inactivityMs ?? 30 * 60_000} milliseconds`,
    `${query.maxMs ?? 24 * 3_600_000} milliseconds`,
  ]);
  return rows.map((r) => ({
    userId: r.user_id,
    key: r.key,
    start: Number(r.start_ms),
    end: Number(r.end_ms),
    events: r.events,
    pageViews: r.page_views,
    entryPage: r.entry_page,
    exitPage: r.exit_page,
    bounce: r.bounce,
  }));
}
