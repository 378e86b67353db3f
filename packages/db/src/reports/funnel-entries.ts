// A funnel's entries with the first entry (the default): each unit's first event that can enter, in
// (time, event id) order. Over whole UTC days from agg_user_action_first_1d when the entering steps
// name only actions; the partial days at the range's ends, and everything else, from raw rows.
import type { Queryable } from '../snapshot.js';
import { type Params, pgTime } from '../stats/sql.js';
import type { FunnelQuery } from './funnel.js';
import { firstPerUnit, ORDER } from './funnel-sql.js';
import type { Step } from './step.js';

const DAY_MS = 86_400_000;

/**
 * The actions of agg_user_action_first_1d whose firsts are the entries, or null when they must come
 * from raw rows: sessions as units, a report filter, a page or role on an entering step, or the raw
 * rows of the range no longer all kept (what follows the entry is read from them).
 */
export async function entryActions(
  q: Queryable,
  f: FunnelQuery,
  entering: readonly Step[],
): Promise<string[] | null> {
  if ((f.unit ?? 'users') !== 'users' || f.filter) return null;
  if (entering.some((s) => !s.actions || s.page || s.role !== undefined)) return null;
  const { rows } = await q.query<{ raw_from: Date | null }>(
    'SELECT raw_from FROM raw_retention WHERE id = 1',
  );
  const rawFrom = rows[0]?.raw_from;
  if (rawFrom && rawFrom.getTime() > f.from) return null;
  return [...new Set(entering.flatMap((s) => s.actions!))];
}

/**
 * Each unit's first event in [from, to) matching `condition` (on interactions `e` of `src`) as
 * `unit, user_id, t0, id0, role`; whole UTC days from the table when `actions` are given. The
 * condition is built only where raw rows are read (a parameter no statement uses has no type).
 */
export function entriesSql(
  p: Params,
  f: FunnelQuery,
  src: string,
  condition: () => string,
  actions: readonly string[] | null,
): string {
  const raw = (lo: number, hi: number) =>
    `SELECT e.unit, e.user_id, ${ORDER}, e.role FROM ${src}
      WHERE e.occurred_at >= ${p.add(pgTime(lo), 'timestamptz')} AND e.occurred_at < ${p.add(pgTime(hi), 'timestamptz')} AND ${condition()}`;
  const dayFrom = Math.ceil(f.from / DAY_MS) * DAY_MS;
  const dayTo = Math.floor(f.to / DAY_MS) * DAY_MS;
  const entry = (rows: string) => firstPerUnit('unit, user_id, t AS t0, id AS id0, role', `(${rows}) x`);
  if (!actions || dayFrom >= dayTo) return entry(raw(f.from, f.to));
  const user = f.userId === undefined ? '' : ` AND a.user_id = ${p.add(f.userId)}`;
  const parts = [
    `SELECT a.user_id AS unit, a.user_id, (a.first).at AS t, (a.first).event_id AS id, (a.first).role
       FROM agg_user_action_first_1d a
      WHERE a.action = ANY(${p.add(actions, 'text[]')})
        AND a.bucket >= ${p.add(pgTime(dayFrom), 'timestamptz')} AND a.bucket < ${p.add(pgTime(dayTo), 'timestamptz')}${user}`,
  ];
  if (f.from < dayFrom) parts.push(raw(f.from, dayFrom));
  if (dayTo < f.to) parts.push(raw(dayTo, f.to));
  return entry(parts.join(' UNION ALL '));
}
