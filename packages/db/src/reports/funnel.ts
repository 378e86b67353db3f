// Funnels over raw interactions (issue 26): for each unit (a user, or one of their sessions) the
// chosen attempt and the events that filled its steps. Same definition as testing/reports/funnel.ts's
// funnel, which tests compare.
import type { Queryable } from '../snapshot.js';
import { Params, pgTime } from '../stats/sql.js';
import { anyOrderAttempts } from './funnel-any-order.js';
import { firstSequentialAttempts } from './funnel-first.js';
import { attemptsOf, epochMs, localDay, unitSource } from './funnel-sql.js';
import { filteredStepCondition, type Step } from './step.js';

export interface FunnelQuery {
  steps: readonly Step[];
  /** sequential: each step after the previous; strict: the very next event of the unit; any: any order. */
  order: 'sequential' | 'strict' | 'any';
  /** Every step within this long after the entry, inclusive. */
  windowMs: number;
  /** first: the unit's first entry in [from, to); best: the entry reaching furthest, ties to the earliest. */
  entry: 'first' | 'best';
  exclusion?: Step;
  /** Entries (step-1 events; any order: an event of any step) in [from, to). */
  from: number;
  to: number;
  /** users (default), or sessions as the sessions table holds them. */
  unit?: 'users' | 'sessions';
  /** Only this user's events. */
  userId?: string;
  /** Role and page every step and the exclusion must also match (the report's filters). */
  filter?: Omit<Step, 'actions'>;
  /** The time zone of the entry's calendar day (default UTC). */
  tz?: string;
}

export interface FunnelAttempt {
  /** The user id, or `<user id> <session key>` for sessions. */
  unit: string;
  userId: string;
  /** Epoch ms of the event that filled each step reached (steps[0] is the entry); any order: in time order. */
  at: number[];
  /** The entry event's role (for the breakdown). */
  entryRole: string;
  /** The entry's calendar day in the query's time zone, YYYY-MM-DD. */
  entryDay: string;
}

/**
 * Each unit's attempt. Any order: funnel-any-order.ts (a maximum matching of events to steps).
 * Sequential with the first entry: funnel-first.ts. Strict order, and sequential with the best
 * entry, here: the unit's events in time order (occurred_at, then event_id), n(k) the position of the
 * event filling step k, the first matching one after step k − 1 (strict: exactly the next position),
 * no later than the entry + window and before the first exclusion event after the entry. Every step-1
 * event in [from, to) is a candidate entry; `first` keeps the earliest, `best` the one reaching
 * furthest (ties: the earliest).
 */
export async function funnelAttempts(q: Queryable, f: FunnelQuery): Promise<FunnelAttempt[]> {
  if (f.steps.length < 2 || f.steps.length > 10) throw new Error('a funnel has 2 to 10 steps');
  if (f.order === 'any') return anyOrderAttempts(q, f);
  if (f.order === 'sequential' && f.entry === 'first') return firstSequentialAttempts(q, f);
  const p = new Params();
  const src = unitSource(p, f);
  const window = p.add(`${f.windowMs} milliseconds`, 'interval');
  const from = p.add(pgTime(f.from), 'timestamptz');
  const to = p.add(pgTime(f.to), 'timestamptz');
  const tz = p.add(f.tz ?? 'UTC');
  const condition = filteredStepCondition(p, f.filter);
  const matches = f.steps.map(condition);
  const matchCols = matches.map((m, k) => `${m} AS m${k}`).join(', ');
  const excl = f.exclusion ? condition(f.exclusion) : 'false';
  // Every unit's events lie in [from, to + window]: said as constants too, so that only the weekly
  // partitions of that span are read (a bound from a join prunes none).
  const span = `e.occurred_at >= ${from} AND e.occurred_at <= ${to} + ${window}`;
  // Units with an entry in range; their events from the first entry to the last entry's window end.
  const entries = `entries AS (
       SELECT e.unit, min(e.occurred_at) AS lo, max(e.occurred_at) AS hi FROM ${src}
        WHERE e.occurred_at >= ${from} AND e.occurred_at < ${to} AND ${matches[0]!}
        GROUP BY e.unit)`;
  // Positions: strict order needs every event of the unit (another event between two steps breaks
  // it); sequential order only the relative order of the events that match a step or the exclusion.
  // The first entry (strict order here): only the unit's first entry's window matters.
  const strict = f.order === 'strict';
  const first = f.entry === 'first';
  const relevant = strict ? '' : ` AND (${matches.join(' OR ')} OR ${excl})`;
  const ctes = [
    entries,
    `ev AS MATERIALIZED (
       SELECT e.unit, e.user_id, e.occurred_at, e.role::text AS role,
              row_number() OVER (PARTITION BY e.unit ORDER BY e.occurred_at, e.event_id) AS pos,
              ${matchCols}, ${excl} AS x
         FROM ${src} JOIN entries r USING (unit)
        WHERE ${span} AND e.occurred_at >= r.lo AND e.occurred_at <= r.${first ? 'lo' : 'hi'} + ${window}${relevant})`,
    // Candidate entries: first entry keeps only the unit's first (its attempt is the answer).
    `e0 AS MATERIALIZED (
       SELECT ${first ? 'DISTINCT ON (unit) ' : ''}unit, user_id, pos AS p0, occurred_at AS t0, role AS entry_role,
              ${localDay('occurred_at', tz)} AS entry_day
         FROM ev WHERE m0 AND occurred_at >= ${from} AND occurred_at < ${to}${first ? ' ORDER BY unit, pos' : ''})`,
    f.exclusion
      ? `c0 AS MATERIALIZED (
           SELECT c.*, s.stop FROM e0 c LEFT JOIN (
             SELECT c.unit, c.p0, min(x.pos) AS stop FROM e0 c JOIN ev x ON x.unit = c.unit AND x.pos > c.p0 AND x.x
              GROUP BY c.unit, c.p0
           ) s USING (unit, p0))`
      : `c0 AS MATERIALIZED (SELECT e0.*, NULL::bigint AS stop FROM e0)`,
  ];
  // Step k: the first event after step k − 1's (strict: the very next) that matches, within the
  // window and before the stop; found for all candidates at once by a join on the unit.
  for (let k = 1; k < f.steps.length; k += 1) {
    const after = strict ? `e.pos = c.p${k - 1} + 1` : `e.pos > c.p${k - 1}`;
    ctes.push(`n${k} AS (
       SELECT c.unit, c.p0, min(e.pos) AS p, min(e.occurred_at) AS t
         FROM c${k - 1} c JOIN ev e ON e.unit = c.unit AND ${after} AND e.m${k}
          AND e.occurred_at <= c.t0 + ${window} AND (c.stop IS NULL OR e.pos < c.stop)
        GROUP BY c.unit, c.p0)`);
    ctes.push(
      `c${k} AS MATERIALIZED (SELECT c.*, n.p AS p${k}, n.t AS t${k} FROM c${k - 1} c LEFT JOIN n${k} n USING (unit, p0))`,
    );
  }
  const last = f.steps.length - 1;
  const reached = Array.from({ length: last }, (_, k) => `(p${k + 1} IS NOT NULL)::int`).join(' + ');
  const chosen = first
    ? `SELECT * FROM c${last}`
    : `SELECT DISTINCT ON (unit) * FROM c${last} ORDER BY unit, ${reached} DESC, p0`;
  const times = Array.from({ length: f.steps.length }, (_, k) => `${epochMs(`a.t${k}`)} AS t${k}`).join(', ');
  const sql = `WITH ${ctes.join(',\n')}, chosen AS (${chosen})
    SELECT a.unit, a.user_id, a.entry_role, a.entry_day, ${times} FROM chosen a ORDER BY a.unit`;
  const { rows } = await q.query<Record<string, string | null>>(sql, p.values);
  return attemptsOf(rows, f.steps.length);
}
