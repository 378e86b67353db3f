// SQL pieces the funnel paths share (funnel.ts, funnel-first.ts, funnel-any-order.ts,
// funnel-entries.ts): the interactions with their unit, per-unit firsts, times and days as answered.
import { type Params, pgTime } from '../stats/sql.js';
import type { FunnelAttempt, FunnelQuery } from './funnel.js';

/**
 * The interactions as `e` with a `unit` column: the user id, or the user id and the key of the
 * session in the sessions table that holds the event (a client session id, or the inferred session
 * whose span covers it). The funnels read events in [from, to + window] only, so only the sessions
 * overlapping it are joined; users compare bytewise (a sort for a merge join: strcoll is ~2× slower).
 */
export function unitSource(p: Params, f: FunnelQuery): string {
  const user = f.userId === undefined ? '' : ` WHERE i.user_id = ${p.add(f.userId)}`;
  if ((f.unit ?? 'users') === 'users') return `(SELECT i.*, i.user_id AS unit FROM interactions i${user}) e`;
  const lo = p.add(pgTime(f.from), 'timestamptz');
  const hi = p.add(pgTime(f.to + f.windowMs), 'timestamptz');
  return `(SELECT i.*, i.user_id || ' ' || s.session_key AS unit FROM interactions i
             JOIN (SELECT * FROM sessions s WHERE s.ended_at >= ${lo} AND s.started_at <= ${hi}) s
               ON s.user_id = i.user_id COLLATE "C"
              AND CASE WHEN i.session_id IS NULL
                       THEN s.session_id IS NULL AND i.occurred_at BETWEEN s.started_at AND s.ended_at
                       ELSE s.session_key = 's:' || i.session_id END${user}) e`;
}

/**
 * Per unit, the first row in (time, event id) order. The units sort bytewise ("C"): equality is the
 * same, and a sort under the database's collation (C.UTF-8 included) compares with strcoll, ~2× slower.
 */
export const firstPerUnit = (cols: string, from: string, t = 't', id = 'id') =>
  `SELECT DISTINCT ON (unit COLLATE "C") ${cols} FROM ${from} ORDER BY unit COLLATE "C", ${t}, ${id}`;

/** The columns that order interactions as `t, id` (compared as scalars: a composite costs more). */
export const ORDER = 'e.occurred_at AS t, e.event_id AS id';

/**
 * A timestamptz as epoch milliseconds (bigint: node-postgres hands it over as a string). date_part's
 * float8, not extract's numeric: a third of the cost per row, and exact once rounded to the millisecond.
 */
export const epochMs = (col: string) => `(date_part('epoch', ${col}) * 1000)::bigint`;

/** A timestamptz's calendar day in time zone `tz` (a parameter), YYYY-MM-DD. */
export const localDay = (col: string, tz: string) => `to_char(${col} AT TIME ZONE ${tz}, 'YYYY-MM-DD')`;

/**
 * The attempts of rows with unit, user_id, entry_role, entry_day and the epoch ms of each step
 * reached as t0, t1, … (null from the first step not reached).
 */
export function attemptsOf(rows: Record<string, string | null>[], steps: number): FunnelAttempt[] {
  return rows.map((r) => {
    const at: number[] = [];
    for (let k = 0; k < steps; k += 1) {
      const t = r[`t${k}`];
      if (t === null || t === undefined) break;
      at.push(Number(t));
    }
    return { unit: r.unit!, userId: r.user_id!, at, entryRole: r.entry_role!, entryDay: r.entry_day! };
  });
}
