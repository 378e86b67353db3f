// The interactions a funnel reads, with the unit each belongs to.
import type { Params } from '../stats/sql.js';
import type { FunnelQuery } from './funnel.js';

/**
 * The interactions as `e` with a `unit` column: the user id, or the user id and the key of the
 * session in the sessions table that holds the event (a client session id, or the inferred session
 * whose span covers it).
 */
export function unitSource(p: Params, f: FunnelQuery): string {
  const user = f.userId === undefined ? '' : ` WHERE i.user_id = ${p.add(f.userId)}`;
  if ((f.unit ?? 'users') === 'users') return `(SELECT i.*, i.user_id AS unit FROM interactions i${user}) e`;
  return `(SELECT i.*, i.user_id || ' ' || s.session_key AS unit FROM interactions i
             JOIN sessions s ON s.user_id = i.user_id
              AND CASE WHEN i.session_id IS NULL
                       THEN s.session_id IS NULL AND i.occurred_at BETWEEN s.started_at AND s.ended_at
                       ELSE s.session_key = 's:' || i.session_id END${user}) e`;
}
