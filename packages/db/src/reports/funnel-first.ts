// Sequential funnels with the first entry (the defaults): each step is the first matching event after
// the previous step's, interactions ordered by (time, event id), so no positions are numbered; the
// entries from funnel-entries.ts.
import type { Queryable } from '../snapshot.js';
import { Params, pgTime } from '../stats/sql.js';
import type { FunnelAttempt, FunnelQuery } from './funnel.js';
import { entriesSql, entryActions } from './funnel-entries.js';
import { attemptsOf, epochMs, firstPerUnit, localDay, ORDER, unitSource } from './funnel-sql.js';
import { filteredStepCondition } from './step.js';

/** Each unit's attempt from its first entry (sequential order). */
export async function firstSequentialAttempts(q: Queryable, f: FunnelQuery): Promise<FunnelAttempt[]> {
  const actions = await entryActions(q, f, f.steps.slice(0, 1));
  const p = new Params();
  const src = unitSource(p, f);
  const condition = filteredStepCondition(p, f.filter);
  const entries = entriesSql(p, f, src, () => condition(f.steps[0]!), actions);
  const laterSteps = f.steps.slice(1).map(condition);
  const excl = f.exclusion ? condition(f.exclusion) : 'false';
  const window = p.add(`${f.windowMs} milliseconds`, 'interval');
  const from = p.add(pgTime(f.from), 'timestamptz');
  const to = p.add(pgTime(f.to), 'timestamptz');
  const tz = p.add(f.tz ?? 'UTC');
  const last = f.steps.length - 1;
  const stepCols = laterSteps.map((m, k) => `${m} AS m${k + 1}`).join(', ');
  const ctes = [
    `entries AS MATERIALIZED (${entries})`,
    // The events of the range that match a later step or the exclusion, bounded by constants so that
    // only the raw-row partitions of [from, to + window] are read; then those after each entry within
    // its window. Two steps: joined to the entries as read, the planner, which cannot know how many
    // entries there are, looks each entry's events up one by one.
    `later AS MATERIALIZED (
       SELECT e.unit, ${ORDER}, ${stepCols}, ${excl} AS x FROM ${src}
        WHERE e.occurred_at >= ${from} AND e.occurred_at <= ${to} + ${window}
          AND (${[...laterSteps, excl].join(' OR ')}))`,
    `ev AS MATERIALIZED (
       SELECT l.* FROM later l JOIN entries r ON r.unit = l.unit COLLATE "C"
        WHERE (l.t, l.id) > (r.t0, r.id0) AND l.t <= r.t0 + ${window})`,
    // Steps count only before the first exclusion event after the entry.
    f.exclusion
      ? `evs AS MATERIALIZED (
           SELECT ev.* FROM ev LEFT JOIN (${firstPerUnit('unit, t AS st, id AS sid', 'ev WHERE x')}) s USING (unit)
            WHERE s.st IS NULL OR (ev.t, ev.id) < (s.st, s.sid))`
      : `evs AS (SELECT * FROM ev)`,
    `n1 AS MATERIALIZED (${firstPerUnit('unit, t, id', 'evs WHERE m1')})`,
  ];
  // Step k: the first event after step k − 1's, for the units that reached it.
  for (let k = 2; k <= last; k += 1)
    ctes.push(
      `n${k} AS MATERIALIZED (${firstPerUnit(
        'unit, e.t, e.id',
        `n${k - 1} c JOIN evs e USING (unit) WHERE e.m${k} AND (e.t, e.id) > (c.t, c.id)`,
        'e.t',
        'e.id',
      )})`,
    );
  const times = Array.from({ length: last }, (_, k) => `${epochMs(`n${k + 1}.t`)} AS t${k + 1}`).join(', ');
  const joins = Array.from({ length: last }, (_, k) => ` LEFT JOIN n${k + 1} USING (unit)`).join('');
  const sql = `WITH ${ctes.join(',\n')}
    SELECT c.unit, c.user_id, c.role::text AS entry_role,
           ${localDay('c.t0', tz)} AS entry_day, ${epochMs('c.t0')} AS t0, ${times}
      FROM entries c${joins}`;
  const { rows } = await q.query<Record<string, string | null>>(sql, p.values);
  return attemptsOf(rows, f.steps.length);
}
