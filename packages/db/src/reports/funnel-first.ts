// Sequential funnels with the first entry (the defaults): each step is the first matching event after
// the previous step's, interactions ordered by (time, event id), so no positions are numbered. A
// user's entry over whole UTC days comes from agg_user_action_first_1d when step 1 names only actions.
import type { Queryable } from '../snapshot.js';
import { Params, pgTime } from '../stats/sql.js';
import type { FunnelAttempt, FunnelQuery } from './funnel.js';
import { unitSource } from './funnel-source.js';
import { stepCondition } from './step.js';

const DAY_MS = 86_400_000;

/**
 * Per unit, the first row in (time, event id) order. The units sort bytewise ("C"): equality is the
 * same, and a sort under the database's collation (C.UTF-8 included) compares with strcoll, ~2× slower.
 */
const firstPerUnit = (cols: string, from: string, t = 't', id = 'id') =>
  `SELECT DISTINCT ON (unit COLLATE "C") ${cols} FROM ${from} ORDER BY unit COLLATE "C", ${t}, ${id}`;

/** The columns that order interactions (compared as scalars: a composite comparison costs more). */
const ORDER = 'e.occurred_at AS t, e.event_id AS id';

/**
 * Whether the entries can come from agg_user_action_first_1d: users, step 1 by action alone, no
 * report filter, and the raw rows of the range still kept (the steps after the entry are raw rows).
 */
async function entriesFromTable(q: Queryable, f: FunnelQuery): Promise<boolean> {
  const step1 = f.steps[0]!;
  if ((f.unit ?? 'users') !== 'users' || f.filter || !step1.actions) return false;
  if (step1.page || step1.role !== undefined) return false;
  const { rows } = await q.query<{ raw_from: Date | null }>(
    'SELECT raw_from FROM raw_retention WHERE id = 1',
  );
  const rawFrom = rows[0]?.raw_from;
  return !rawFrom || rawFrom.getTime() <= f.from;
}

/**
 * Each unit's first step-1 event in [from, to) as `unit, user_id, t0, id0, role`. From the table:
 * the whole UTC days, with the partial days at the range's ends from raw rows.
 */
function entriesSql(p: Params, f: FunnelQuery, fromTable: boolean, src: string, step1: string): string {
  const raw = (lo: number, hi: number) =>
    `SELECT e.unit, e.user_id, ${ORDER}, e.role FROM ${src}
      WHERE e.occurred_at >= ${p.add(pgTime(lo), 'timestamptz')} AND e.occurred_at < ${p.add(pgTime(hi), 'timestamptz')} AND ${step1}`;
  const dayFrom = Math.ceil(f.from / DAY_MS) * DAY_MS;
  const dayTo = Math.floor(f.to / DAY_MS) * DAY_MS;
  const entry = (rows: string) => firstPerUnit('unit, user_id, t AS t0, id AS id0, role', `(${rows}) x`);
  if (!fromTable || dayFrom >= dayTo) return entry(raw(f.from, f.to));
  const user = f.userId === undefined ? '' : ` AND a.user_id = ${p.add(f.userId)}`;
  const parts = [
    `SELECT a.user_id AS unit, a.user_id, (a.first).at AS t, (a.first).event_id AS id, (a.first).role FROM agg_user_action_first_1d a
      WHERE a.action = ANY(${p.add(f.steps[0]!.actions, 'text[]')})
        AND a.bucket >= ${p.add(pgTime(dayFrom), 'timestamptz')} AND a.bucket < ${p.add(pgTime(dayTo), 'timestamptz')}${user}`,
  ];
  if (f.from < dayFrom) parts.push(raw(f.from, dayFrom));
  if (dayTo < f.to) parts.push(raw(dayTo, f.to));
  return entry(parts.join(' UNION ALL '));
}

/** Each unit's attempt from its first entry (sequential order). */
export async function firstSequentialAttempts(q: Queryable, f: FunnelQuery): Promise<FunnelAttempt[]> {
  const fromTable = await entriesFromTable(q, f);
  const p = new Params();
  const src = unitSource(p, f);
  const filter = f.filter ? stepCondition(p, f.filter) : null;
  const condition = (s: FunnelQuery['steps'][number]) =>
    filter ? `(${stepCondition(p, s)} AND ${filter})` : stepCondition(p, s);
  const matches = f.steps.map(condition);
  const excl = f.exclusion ? condition(f.exclusion) : 'false';
  const entries = entriesSql(p, f, fromTable, src, matches[0]!);
  const window = p.add(`${f.windowMs} milliseconds`, 'interval');
  const from = p.add(pgTime(f.from), 'timestamptz');
  const to = p.add(pgTime(f.to), 'timestamptz');
  const tz = p.add(f.tz ?? 'UTC');
  const last = f.steps.length - 1;
  const stepCols = matches
    .slice(1)
    .map((m, k) => `${m} AS m${k + 1}`)
    .join(', ');
  const ctes = [
    `entries AS MATERIALIZED (${entries})`,
    // The events of the range that match a later step or the exclusion, bounded by constants so that
    // only the raw-row partitions of [from, to + window] are read; then those after each entry within
    // its window. Two steps: joined to the entries as read, the planner, which cannot know how many
    // entries there are, looks each entry's events up one by one.
    `later AS MATERIALIZED (
       SELECT e.unit, ${ORDER}, ${stepCols}, ${excl} AS x FROM ${src}
        WHERE e.occurred_at >= ${from} AND e.occurred_at <= ${to} + ${window}
          AND (${[...matches.slice(1), excl].join(' OR ')}))`,
    `ev AS MATERIALIZED (
       SELECT l.* FROM later l JOIN entries r USING (unit)
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
  const ms = (col: string) => `(extract(epoch FROM ${col}) * 1000)::bigint`;
  const times = Array.from({ length: last }, (_, k) => `${ms(`n${k + 1}.t`)} AS t${k + 1}`).join(', ');
  const joins = Array.from({ length: last }, (_, k) => ` LEFT JOIN n${k + 1} USING (unit)`).join('');
  const sql = `WITH ${ctes.join(',\n')}
    SELECT c.unit, c.user_id, c.role::text AS entry_role,
           to_char(c.t0 AT TIME ZONE ${tz}, 'YYYY-MM-DD') AS entry_day, ${ms('c.t0')} AS t0, ${times}
      FROM entries c${joins}`;
  const { rows } = await q.query<Record<string, string | null>>(sql, p.values);
  return rows.map((r) => {
    const at: number[] = [];
    for (let k = 0; k <= last; k += 1) {
      const t = r[`t${k}`];
      if (t === null || t === undefined) break;
      at.push(Number(t));
    }
    return { unit: r.unit!, userId: r.user_id!, at, entryRole: r.entry_role!, entryDay: r.entry_day! };
  });
}
