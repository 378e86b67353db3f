// Funnels, the reference definition: window from the entry, one event per step, first or best attempt.

import type { FunnelStepStats } from '../../reports/funnel-report.js';
import {
  byTime,
  DAY_MS,
  groupBy,
  localDay,
  matchesStep,
  percentileDisc,
  type RawEvent,
  type StepDef,
} from './events.js';
import { type SessionOptions, sessionsOf } from './sessions.js';

export interface FunnelDef {
  steps: readonly StepDef[];
  /** sequential (default): each step after the previous; strict: the very next event; any: any order. */
  order?: 'sequential' | 'strict' | 'any';
  /** Every step within this long after the attempt's first event, inclusive. Default 14 days. */
  windowMs?: number;
  unit?: 'users' | 'sessions';
  /** first (default): the unit's first entry event; best: the entry reaching furthest, ties to the earliest. */
  entry?: 'first' | 'best';
  /** An event matching it after the entry ends the attempt there (a drop-off, not a removal). */
  exclusion?: StepDef;
  /** Entries (the attempt's first event) in [from, to). */
  from?: number;
  to?: number;
  tz?: string;
  sessions?: SessionOptions;
}

/** One attempt: the events that filled steps 1…reached, in step order (any order: in time order). */
interface Attempt {
  unit: string;
  entry: RawEvent;
  filled: RawEvent[];
}

/** How far an attempt starting at events[i] gets; null when events[i] cannot start one. */
function attemptAt(events: readonly RawEvent[], i: number, def: FunnelDef): RawEvent[] | null {
  const steps = def.steps;
  const order = def.order ?? 'sequential';
  const start = events[i]!;
  const deadline = start.occurredAt + (def.windowMs ?? 14 * DAY_MS);
  let end = events.length;
  for (let j = i + 1; j < events.length; j += 1) {
    if (events[j]!.occurredAt > deadline || (def.exclusion && matchesStep(events[j]!, def.exclusion))) {
      end = j;
      break;
    }
  }
  if (order === 'any') {
    if (!steps.some((s) => matchesStep(start, s))) return null;
    return maxMatching(events.slice(i, end), steps);
  }
  if (!matchesStep(start, steps[0]!)) return null;
  const filled = [start];
  let at = i;
  for (let k = 1; k < steps.length; k += 1) {
    let found = -1;
    for (let j = at + 1; j < end; j += 1) {
      if (matchesStep(events[j]!, steps[k]!)) {
        found = j;
        break;
      }
      if (order === 'strict') break; // another event between two steps ends a strict attempt
    }
    if (found < 0) break;
    filled.push(events[found]!);
    at = found;
  }
  return filled;
}

/**
 * Any order: the most steps distinct events in `window` can fill (bipartite matching; window[0], the
 * entry, is matched first and stays matched), as the filling events in time order.
 */
function maxMatching(window: readonly RawEvent[], steps: readonly StepDef[]): RawEvent[] {
  const stepOf = new Map<number, number>(); // event index → step
  const eventOf = new Map<number, number>(); // step → event index
  const augment = (ev: number, seen: Set<number>): boolean => {
    for (let s = 0; s < steps.length; s += 1) {
      if (!matchesStep(window[ev]!, steps[s]!) || seen.has(s)) continue;
      seen.add(s);
      const holder = eventOf.get(s);
      if (holder === undefined || augment(holder, seen)) {
        eventOf.set(s, ev);
        stepOf.set(ev, s);
        return true;
      }
    }
    return false;
  };
  augment(0, new Set());
  for (let ev = 1; ev < window.length; ev += 1) augment(ev, new Set());
  // Augmenting never unmatches an event, so `first` (index 0, matched first) stays in the matching.
  return [...stepOf.keys()].sort((a, b) => a - b).map((ev) => window[ev]!);
}

export interface FunnelStepResult extends FunnelStepStats {
  /** The units that reached this step, and those that reached the previous one but not this. */
  converted: string[];
  dropped: string[];
}

export interface FunnelResult {
  steps: FunnelStepResult[];
  /** Per local day of the entry (days since 1970-01-01 in `tz`): units that reached each step. */
  byEntryDay: Map<number, number[]>;
  /** Per role of the entry event: units that reached each step. */
  byRole: Map<string, number[]>;
}

export function funnel(events: readonly RawEvent[], def: FunnelDef): FunnelResult {
  const n = def.steps.length;
  if (n < 2 || n > 10) throw new Error('a funnel has 2 to 10 steps');
  const units =
    (def.unit ?? 'users') === 'users'
      ? [...groupBy(events, (e) => e.userId)].map(([id, list]) => ({ id, events: [...list].sort(byTime) }))
      : sessionsOf(events, def.sessions).map((s) => ({ id: `${s.userId} ${s.key}`, events: s.events }));
  const attempts: Attempt[] = [];
  for (const unit of units) {
    let chosen: Attempt | undefined;
    for (let i = 0; i < unit.events.length; i += 1) {
      const e = unit.events[i]!;
      if (
        (def.from !== undefined && e.occurredAt < def.from) ||
        (def.to !== undefined && e.occurredAt >= def.to)
      )
        continue;
      const filled = attemptAt(unit.events, i, def);
      if (!filled) continue;
      if (!chosen || filled.length > chosen.filled.length) chosen = { unit: unit.id, entry: e, filled };
      if ((def.entry ?? 'first') === 'first' || chosen.filled.length === n) break;
    }
    if (chosen) attempts.push(chosen);
  }
  const reached = (k: number) => attempts.filter((a) => a.filled.length > k);
  const steps: FunnelStepResult[] = [];
  for (let k = 0; k < n; k += 1) {
    const here = reached(k);
    const before = k === 0 ? here : reached(k - 1);
    const gaps = k === 0 ? [] : here.map((a) => a.filled[k]!.occurredAt - a.filled[k - 1]!.occurredAt);
    steps.push({
      count: here.length,
      conversion: attempts.length === 0 ? 0 : here.length / reached(0).length,
      fromPrevious: before.length === 0 ? 0 : here.length / before.length,
      dropOff: before.length - here.length,
      medianMs: k === 0 || gaps.length === 0 ? null : percentileDisc(gaps, 0.5),
      p90Ms: k === 0 || gaps.length === 0 ? null : percentileDisc(gaps, 0.9),
      converted: here.map((a) => a.unit).sort(),
      dropped: before
        .filter((a) => a.filled.length === k)
        .map((a) => a.unit)
        .sort(),
    });
  }
  const tally = (key: (a: Attempt) => number | string) => {
    const out = new Map<number | string, number[]>();
    for (const a of attempts) {
      const row = out.get(key(a)) ?? new Array<number>(n).fill(0);
      for (let k = 0; k < a.filled.length; k += 1) row[k]! += 1;
      out.set(key(a), row);
    }
    return out;
  };
  return {
    steps,
    byEntryDay: tally((a) => localDay(a.entry.occurredAt, def.tz ?? 'UTC')) as Map<number, number[]>,
    byRole: tally((a) => a.entry.role) as Map<string, number[]>,
  };
}
