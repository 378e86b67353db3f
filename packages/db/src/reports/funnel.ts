// Funnels over raw interactions in SQL (issue 26): for each user the chosen attempt and the events
// that filled its steps. Same definition as testing/reports/funnel.ts's funnel, which tests compare.
import type { Queryable } from '../snapshot.js';
import { Params, pgTime } from '../stats/sql.js';
import { type Step, stepCondition } from './step.js';

export interface FunnelQuery {
  steps: readonly Step[];
  /** sequential: each step after the previous; strict: the very next event of the user. */
  order: 'sequential' | 'strict';
  /** Every step within this long after the entry, inclusive. */
  windowMs: number;
  /** first: the user's first entry in [from, to); best: the entry reaching furthest, ties to the earliest. */
  entry: 'first' | 'best';
  exclusion?: Step;
  /** Entries (step-1 events) in [from, to). */
  from: number;
  to: number;
}

export interface FunnelAttempt {
  userId: string;
  /** Epoch ms of the event that filled each step reached (steps[0] is the entry). */
  at: number[];
  /** The entry event's role (for the breakdown). */
  entryRole: string;
}

/**
 * Each user's attempt, built step by step from the user's events in time order (occurred_at, then
 * event_id): n(k) is the position of the event filling step k, the first matching one after step
 * k − 1 (strict: exactly the next position), no later than the entry + window and before the first
 * exclusion event after the entry. Every step-1 event in [from, to) is a candidate entry; `first`
 * keeps the earliest, `best` the one reaching furthest (ties: the earliest).
 */
export async function funnelAttempts(q: Queryable, f: FunnelQuery): Promise<FunnelAttempt[]> {
  if (f.steps.length < 2 || f.steps.length > 10) throw new Error('a funnel has 2 to 10 steps');
  const p = new Params();
  const window = p.add(`${f.windowMs} milliseconds`, 'interval');
  const from = p.add(pgTime(f.from), 'timestamptz');
  const to = p.add(pgTime(f.to), 'timestamptz');
  const matchCols = f.steps.map((s, k) => `${stepCondition(p, s)} AS m${k}`).join(', ');
  const excl = f.exclusion ? stepCondition(p, f.exclusion) : 'false';
  // Users with an entry in range; their events from the first entry to the last entry's window end.
  const ctes = [
    `entries AS (
       SELECT e.user_id, min(e.occurred_at) AS lo, max(e.occurred_at) AS hi FROM interactions e
        WHERE e.occurred_at >= ${from} AND e.occurred_at < ${to} AND ${stepCondition(p, f.steps[0]!)}
        GROUP BY e.user_id)`,
    `ev AS (
       SELECT e.user_id, e.occurred_at, e.role::text AS role,
              row_number() OVER (PARTITION BY e.user_id ORDER BY e.occurred_at, e.event_id) AS pos,
              ${matchCols}, ${excl} AS x
         FROM interactions e JOIN entries r USING (user_id)
        WHERE e.occurred_at >= r.lo AND e.occurred_at <= r.hi + ${window})`,
    `c0 AS (
       SELECT user_id, pos AS p0, occurred_at AS t0, role AS entry_role,
              (SELECT min(x.pos) FROM ev x WHERE x.user_id = ev.user_id AND x.pos > ev.pos AND x.x) AS stop
         FROM ev WHERE m0 AND occurred_at >= ${from} AND occurred_at < ${to})`,
  ];
  const next = (k: number) =>
    f.order === 'strict'
      ? `(SELECT x.pos FROM ev x WHERE x.user_id = c.user_id AND x.pos = c.p${k - 1} + 1 AND x.m${k}
            AND x.occurred_at <= c.t0 + ${window} AND (c.stop IS NULL OR x.pos < c.stop))`
      : `(SELECT min(x.pos) FROM ev x WHERE x.user_id = c.user_id AND x.pos > c.p${k - 1} AND x.m${k}
            AND x.occurred_at <= c.t0 + ${window} AND (c.stop IS NULL OR x.pos < c.stop))`;
  for (let k = 1; k < f.steps.length; k += 1) {
    ctes.push(`c${k} AS (SELECT c.*, ${next(k)} AS p${k} FROM c${k - 1} c)`);
  }
  const last = f.steps.length - 1;
  const reached = Array.from({ length: last }, (_, k) => `(p${k + 1} IS NOT NULL)::int`).join(' + ');
  const chosen =
    f.entry === 'first'
      ? `SELECT DISTINCT ON (user_id) * FROM c${last} ORDER BY user_id, p0`
      : `SELECT DISTINCT ON (user_id) * FROM c${last} ORDER BY user_id, ${reached} DESC, p0`;
  const times = Array.from(
    { length: f.steps.length },
    (_, k) =>
      `(SELECT (extract(epoch FROM x.occurred_at) * 1000)::bigint FROM ev x WHERE x.user_id = a.user_id AND x.pos = a.p${k}) AS t${k}`,
  ).join(', ');
  const sql = `WITH ${ctes.join(',\n')}, chosen AS (${chosen})
    SELECT a.user_id, a.entry_role, ${times} FROM chosen a ORDER BY a.user_id`;
  const { rows } = await q.query<Record<string, string | null>>(sql, p.values);
  return rows.map((r) => {
    const at: number[] = [];
    for (let k = 0; k < f.steps.length; k += 1) {
      const t = r[`t${k}`];
      if (t === null || t === undefined) break;
      at.push(Number(t));
    }
    return { userId: r.user_id!, at, entryRole: r.entry_role! };
  });
}
