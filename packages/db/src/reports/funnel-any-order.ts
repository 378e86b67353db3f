// Funnels in any order: each candidate entry's steps are a maximum matching of the events in its
// window to the steps (augmenting paths, events in time order). SQL reads the events that match a
// step or the exclusion; with the first entry only those the matching can use.
import type { Queryable } from '../snapshot.js';
import { Params, pgTime } from '../stats/sql.js';
import type { FunnelAttempt, FunnelQuery } from './funnel.js';
import { entriesSql, entryActions } from './funnel-entries.js';
import { epochMs, firstPerUnit, localDay, unitSource } from './funnel-sql.js';
import { filteredStepCondition } from './step.js';

interface AnyRow {
  unit: string;
  user_id: string;
  t: string;
  role: string;
  day: string;
  /** Bit k: matches step k. */
  mask: number;
  x: boolean;
}

/**
 * The rows of each unit in time order. Best entry: every event matching a step or the exclusion from
 * the unit's first entry to its last entry's window end. First entry: from the entry (the unit's first
 * event matching a step, as funnel-entries.ts finds it) to its window's end or the first exclusion
 * event after it, and of the events matching the same set of steps M only the first |M|: Kuhn's
 * matching never matches an event that failed to augment, and the |M| first either all hold steps of
 * M (none left for another) or one failed (and so would an event with the same steps, later).
 */
function anyOrderSql(p: Params, f: FunnelQuery, actions: string[] | null): string {
  const src = unitSource(p, f);
  const condition = filteredStepCondition(p, f.filter);
  const matches = f.steps.map(condition);
  const any = `(${matches.join(' OR ')})`;
  const excl = f.exclusion ? condition(f.exclusion) : 'false';
  const window = p.add(`${f.windowMs} milliseconds`, 'interval');
  const from = p.add(pgTime(f.from), 'timestamptz');
  const to = p.add(pgTime(f.to), 'timestamptz');
  const tz = p.add(f.tz ?? 'UTC');
  const mask = matches.map((m, k) => `(CASE WHEN ${m} THEN ${1 << k} ELSE 0 END)`).join(' | ');
  const size = matches.map((m) => `(${m})::int`).join(' + ');
  // Constant bounds too, so that only the raw-row partitions of [from, to + window] are read.
  const span = `e.occurred_at >= ${from} AND e.occurred_at <= ${to} + ${window}`;
  const out = (a: string) => `unit, ${a}.user_id, ${epochMs(`${a}.t`)} AS t,
               ${a}.role::text AS role, ${localDay(`${a}.t`, tz)} AS day, ${a}.mask, ${a}.x`;
  const cols = `e.unit, e.user_id, e.occurred_at AS t, e.event_id AS id, e.role, ${mask} AS mask, ${excl} AS x`;
  if (f.entry === 'best')
    return `WITH entries AS (
       SELECT e.unit, min(e.occurred_at) AS lo, max(e.occurred_at) AS hi FROM ${src}
        WHERE e.occurred_at >= ${from} AND e.occurred_at < ${to} AND ${any} GROUP BY e.unit)
     SELECT ${out('x')} FROM (
       SELECT ${cols} FROM ${src} JOIN entries r USING (unit)
        WHERE ${span} AND e.occurred_at >= r.lo AND e.occurred_at <= r.hi + ${window} AND (${any} OR ${excl})) x
     ORDER BY unit COLLATE "C", t, id`;
  // No event of a unit matches a step between `from` and its entry, so the first |M| of the range
  // are the first |M| from the entry on: counted before the join to the entries (joined as read,
  // the planner, which cannot know how many entries there are, looks each one's events up one by one).
  return `WITH entries AS MATERIALIZED (${entriesSql(p, f, src, () => any, actions)}),
     cand AS MATERIALIZED (${
       oneStepPerEvent(f)
         ? `SELECT DISTINCT ON (e.unit COLLATE "C", ${mask}) ${cols} FROM ${src} WHERE ${span} AND ${any}
             ORDER BY e.unit COLLATE "C", ${mask}, e.occurred_at, e.event_id`
         : `SELECT * FROM (
             SELECT ${cols}, ${size} AS size,
                    row_number() OVER (PARTITION BY e.unit COLLATE "C", ${mask} ORDER BY e.occurred_at, e.event_id) AS k
               FROM ${src} WHERE ${span} AND ${any}) c
            WHERE k <= size`
     }),
     stops AS (${firstPerUnit(
       'unit, e.occurred_at AS st, e.event_id AS sid',
       `${src} JOIN entries r USING (unit)
         WHERE ${span} AND ${excl} AND (e.occurred_at, e.event_id) > (r.t0, r.id0)`,
       'e.occurred_at',
       'e.event_id',
     )})
     SELECT ${out('c')} FROM cand c JOIN entries r USING (unit) LEFT JOIN stops s USING (unit)
      WHERE (c.t, c.id) >= (r.t0, r.id0) AND c.t <= r.t0 + ${window} AND (s.st IS NULL OR (c.t, c.id) < (s.st, s.sid))
      ORDER BY unit COLLATE "C", c.t, c.id`;
}

/** Every step names actions and no action is in two steps: an event matches one step at most (|M| = 1). */
function oneStepPerEvent(f: FunnelQuery): boolean {
  const actions = f.steps.flatMap((s): (string | null)[] => (s.actions ? [...s.actions] : [null]));
  return !actions.includes(null) && new Set(actions).size === actions.length;
}

/** Each unit's attempt in any order. */
export async function anyOrderAttempts(q: Queryable, f: FunnelQuery): Promise<FunnelAttempt[]> {
  const actions = f.entry === 'first' ? await entryActions(q, f, f.steps) : null;
  const p = new Params();
  const sql = anyOrderSql(p, f, actions);
  const { rows } = await q.query<AnyRow>(sql, p.values);
  const out: FunnelAttempt[] = [];
  for (let i = 0; i < rows.length; ) {
    let j = i;
    const events: AnyEvent[] = [];
    while (j < rows.length && rows[j]!.unit === rows[i]!.unit) {
      const r = rows[j]!;
      events.push({ t: Number(r.t), role: r.role, day: r.day, steps: r.mask, exclusion: r.x });
      j += 1;
    }
    const chosen = bestAnyOrder(events, f);
    if (chosen) out.push({ unit: rows[i]!.unit, userId: rows[i]!.user_id, ...chosen });
    i = j;
  }
  return out;
}

interface AnyEvent {
  t: number;
  role: string;
  day: string;
  /** Bit k: matches step k. */
  steps: number;
  exclusion: boolean;
}

function bestAnyOrder(events: AnyEvent[], f: FunnelQuery): Omit<FunnelAttempt, 'unit' | 'userId'> | null {
  let chosen: Omit<FunnelAttempt, 'unit' | 'userId'> | null = null;
  for (let i = 0; i < events.length; i += 1) {
    const start = events[i]!;
    if (start.steps === 0 || start.t < f.from || start.t >= f.to) continue;
    let end = events.length;
    for (let j = i + 1; j < events.length; j += 1) {
      if (events[j]!.t > start.t + f.windowMs || events[j]!.exclusion) {
        end = j;
        break;
      }
    }
    const filled = maxMatching(events.slice(i, end), f.steps.length);
    if (!chosen || filled.length > chosen.at.length)
      chosen = { at: filled.map((e) => e.t), entryRole: start.role, entryDay: start.day };
    if (f.entry === 'first' || chosen.at.length === f.steps.length) break;
  }
  return chosen;
}

/**
 * The most steps distinct events of `window` can fill (augmenting paths; window[0], the entry, is
 * matched first and stays matched: augmenting never unmatches an event), as those events in time order.
 */
function maxMatching(window: readonly AnyEvent[], n: number): AnyEvent[] {
  const eventOf = new Map<number, number>(); // step → event index
  const matched = new Set<number>();
  const augment = (ev: number, seen: Set<number>): boolean => {
    for (let s = 0; s < n; s += 1) {
      if ((window[ev]!.steps & (1 << s)) === 0 || seen.has(s)) continue;
      seen.add(s);
      const holder = eventOf.get(s);
      if (holder === undefined || augment(holder, seen)) {
        eventOf.set(s, ev);
        matched.add(ev);
        return true;
      }
    }
    return false;
  };
  for (let ev = 0; ev < window.length && matched.size < n; ev += 1) augment(ev, new Set());
  return [...matched].sort((a, b) => a - b).map((ev) => window[ev]!);
}
