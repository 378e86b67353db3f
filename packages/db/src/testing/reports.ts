/**
 * The definitions of sessions, funnels and retention (issue 26), computed the slow, obvious way over
 * a list of raw events: the reference the database implementations are compared with in tests.
 * Every rule below is a choice where PostHog, Mixpanel, Umami and Plausible differ; docs state them.
 */

import type { InteractionRow } from '../aggregates/rows.js';
import type { Step } from '../reports/step.js';

export interface RawEvent {
  eventId: string;
  userId: string;
  action: string;
  page: string;
  role: string;
  /** Milliseconds since the epoch. */
  occurredAt: number;
  sessionId?: string | null;
}

/** A stored row as the oracle reads it. */
export function rawEventOf(r: InteractionRow): RawEvent {
  const { eventId, userId, action, page, role, occurredAt, sessionId } = r;
  return { eventId, userId, action, page, role, occurredAt, sessionId };
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Events in the order every definition walks them: time, then eventId (equal instants are ordered, never merged). */
export function byTime(a: RawEvent, b: RawEvent): number {
  return a.occurredAt - b.occurredAt || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

// ------------------------------------------------------------------------------------------ sessions

export interface SessionOptions {
  /** A gap of at least this long without an event from the user starts a new session. Default 30 min. */
  inactivityMs?: number;
  /** An event at least this long after the session's first event starts a new one. Default 24 h. */
  maxMs?: number;
}

export interface Session {
  userId: string;
  /** `s:<sessionId>` for the client's id, else `t:<first event's occurredAt>`. */
  key: string;
  events: RawEvent[];
  start: number;
  end: number;
  /** end − start: a session of one event lasts 0 (and counts in the mean and median). */
  durationMs: number;
  pageViews: number;
  /** The first and last event's page (page_view or not). */
  entryPage: string;
  exitPage: string;
  /** Exactly one event, and it is a page_view. */
  bounce: boolean;
}

/**
 * A user's sessions. Events carrying a sessionId form one session per (user, sessionId), whatever
 * their gaps (the client decides, as PostHog and Mixpanel's property mode do). The user's other
 * events are split in time order: a new session when the gap to the previous event is
 * ≥ inactivityMs or the event is ≥ maxMs after the session's first (no split at midnight, unlike
 * Mixpanel; from the last event, unlike Umami's visit).
 */
export function sessionsOf(events: readonly RawEvent[], opts: SessionOptions = {}): Session[] {
  const inactivityMs = opts.inactivityMs ?? 30 * MINUTE_MS;
  const maxMs = opts.maxMs ?? DAY_MS;
  const sessions: Session[] = [];
  for (const [userId, own] of groupBy(events, (e) => e.userId)) {
    const sorted = [...own].sort(byTime);
    for (const [sessionId, list] of groupBy(
      sorted.filter((e) => e.sessionId),
      (e) => e.sessionId!,
    ))
      sessions.push(session(userId, `s:${sessionId}`, list));
    let current: RawEvent[] = [];
    for (const e of sorted.filter((x) => !x.sessionId)) {
      const first = current[0];
      const last = current.at(-1);
      if (
        first &&
        last &&
        (e.occurredAt - last.occurredAt >= inactivityMs || e.occurredAt - first.occurredAt >= maxMs)
      ) {
        sessions.push(session(userId, `t:${first.occurredAt}`, current));
        current = [];
      }
      current.push(e);
    }
    if (current.length > 0) sessions.push(session(userId, `t:${current[0]!.occurredAt}`, current));
  }
  return sessions.sort((a, b) => a.start - b.start || (a.userId < b.userId ? -1 : 1));
}

function session(userId: string, key: string, events: RawEvent[]): Session {
  const first = events[0]!;
  const last = events.at(-1)!;
  const pageViews = events.filter((e) => e.action === 'page_view').length;
  return {
    userId,
    key,
    events,
    start: first.occurredAt,
    end: last.occurredAt,
    durationMs: last.occurredAt - first.occurredAt,
    pageViews,
    entryPage: first.page,
    exitPage: last.page,
    bounce: events.length === 1 && first.action === 'page_view',
  };
}

export interface SessionStats {
  sessions: number;
  bounceRate: number;
  meanDurationMs: number;
  medianDurationMs: number;
  pagesPerSession: number;
  /** Sessions per entry (exit) page, most first, then by page. */
  entryPages: { page: string; sessions: number }[];
  exitPages: { page: string; sessions: number; pageViews: number; exitRate: number }[];
}

/** Lower median (the value at index ⌊(n − 1) / 2⌋ of the sorted list), as percentile_disc(0.5). */
export function percentileDisc(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/**
 * Statistics of the sessions that start in [from, to) and hold at least one event passing `matches`
 * (role, page or user filters select sessions, they do not cut them). Exit rate of a page: sessions
 * that ended on it ÷ its page views in those sessions (Plausible's definition).
 */
export function sessionStats(
  sessions: readonly Session[],
  opts: { from?: number; to?: number; matches?: (e: RawEvent) => boolean } = {},
): SessionStats {
  const chosen = sessions.filter(
    (s) =>
      (opts.from === undefined || s.start >= opts.from) &&
      (opts.to === undefined || s.start < opts.to) &&
      (!opts.matches || s.events.some(opts.matches)),
  );
  const n = chosen.length;
  const count = (key: (s: Session) => string) =>
    [...groupBy(chosen, key)].map(([page, list]) => ({ page, sessions: list.length }));
  const order = (a: { page: string; sessions: number }, b: { page: string; sessions: number }) =>
    b.sessions - a.sessions || (a.page < b.page ? -1 : 1);
  const views = new Map<string, number>();
  for (const s of chosen)
    for (const e of s.events) if (e.action === 'page_view') views.set(e.page, (views.get(e.page) ?? 0) + 1);
  const durations = chosen.map((s) => s.durationMs);
  return {
    sessions: n,
    bounceRate: n === 0 ? 0 : chosen.filter((s) => s.bounce).length / n,
    meanDurationMs: n === 0 ? 0 : durations.reduce((a, b) => a + b, 0) / n,
    medianDurationMs: percentileDisc(durations, 0.5),
    pagesPerSession: n === 0 ? 0 : chosen.reduce((a, s) => a + s.pageViews, 0) / n,
    entryPages: count((s) => s.entryPage).sort(order),
    exitPages: count((s) => s.exitPage)
      .sort(order)
      .map((x) => {
        const pageViews = views.get(x.page) ?? 0;
        return { ...x, pageViews, exitRate: pageViews === 0 ? 0 : x.sessions / pageViews };
      }),
  };
}

// ------------------------------------------------------------------------------------------- periods

/** The calendar day of `t` in `tz`, as days since 1970-01-01 (a local date, not an instant). */
export function localDay(t: number, tz: string): number {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return Date.UTC(get('year'), get('month') - 1, get('day')) / DAY_MS;
}

export type Period = 'day' | 'week' | 'month';

/** The period holding `t` in `tz`, numbered so that consecutive periods differ by 1 (weeks from Monday). */
export function periodIndex(t: number, tz: string, period: Period): number {
  const day = localDay(t, tz);
  if (period === 'day') return day;
  if (period === 'week') return Math.floor((day + 3) / 7); // 1970-01-01 was a Thursday
  const date = new Date(day * DAY_MS);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

// ------------------------------------------------------------------------------------------- funnels

/** The same step filter as the SQL implementations take. */
export type StepDef = Step;

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

export function matchesStep(e: RawEvent, step: StepDef): boolean {
  if (step.actions && !step.actions.includes(e.action)) return false;
  if (step.role !== undefined && e.role !== step.role) return false;
  if (step.page && !(step.page.prefix ? e.page.startsWith(step.page.value) : e.page === step.page.value))
    return false;
  return true;
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

export interface FunnelStepResult {
  count: number;
  /** count ÷ step 1's count, and ÷ the previous step's (1 for step 1). */
  conversion: number;
  fromPrevious: number;
  /** The previous step's count − this one's (0 for step 1). */
  dropOff: number;
  /** Time from the previous step's event, over the units that reached this step (null for step 1). */
  medianMs: number | null;
  p90Ms: number | null;
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

// ----------------------------------------------------------------------------------------- retention

export interface RetentionDef {
  /** Default: any event. */
  start?: StepDef;
  return?: StepDef;
  period: Period;
  tz: string;
  /** first (default): a user's first start event ever; recurring: every period with a start event. */
  cohort?: 'first' | 'recurring';
  /** on (default): returned in period k; onOrAfter: in period k or any later one. */
  mode?: 'on' | 'onOrAfter';
  /** Cohorts whose start event is in [from, to). */
  from?: number;
  to?: number;
  /** Periods after period 0 in each row. */
  periods: number;
  now: number;
}

export interface RetentionRow {
  /** periodIndex of the cohort's period. */
  period: number;
  size: number;
  /** cells[0] = size; cells[k]: users who returned in period + k (null: that period has not begun). */
  cells: (number | null)[];
  /** Index of the cell whose period is the current one (not ended), or null. */
  partial: number | null;
}

export function retention(
  events: readonly RawEvent[],
  def: RetentionDef,
): {
  rows: RetentionRow[];
  /** Per k: Σ cells ÷ Σ sizes over the rows whose period k has ended (null when none has). */
  mean: (number | null)[];
} {
  const isStart = (e: RawEvent) => !def.start || matchesStep(e, def.start);
  const isReturn = (e: RawEvent) => !def.return || matchesStep(e, def.return);
  const inRange = (t: number) =>
    (def.from === undefined || t >= def.from) && (def.to === undefined || t < def.to);
  const now = periodIndex(def.now, def.tz, def.period);
  const members = new Map<number, Set<string>>(); // cohort period → users
  const returns = new Map<string, Set<number>>(); // user → periods with a return event
  for (const [userId, list] of groupBy(events, (e) => e.userId)) {
    const sorted = [...list].sort(byTime);
    const starts = sorted.filter(isStart);
    const cohortEvents = (def.cohort ?? 'first') === 'first' ? starts.slice(0, 1) : starts;
    for (const e of cohortEvents.filter((x) => inRange(x.occurredAt))) {
      const p = periodIndex(e.occurredAt, def.tz, def.period);
      const set = members.get(p) ?? new Set<string>();
      set.add(userId);
      members.set(p, set);
    }
    returns.set(
      userId,
      new Set(sorted.filter(isReturn).map((e) => periodIndex(e.occurredAt, def.tz, def.period))),
    );
  }
  const rows: RetentionRow[] = [...members.entries()]
    .sort(([a], [b]) => a - b)
    .map(([period, users]) => {
      const cells: (number | null)[] = [users.size];
      for (let k = 1; k <= def.periods; k += 1) {
        if (period + k > now) {
          cells.push(null);
          continue;
        }
        let count = 0;
        for (const u of users) {
          const back = returns.get(u)!;
          const hit =
            (def.mode ?? 'on') === 'on'
              ? back.has(period + k)
              : [...back].some((p) => p >= period + k && p <= now);
          if (hit) count += 1;
        }
        cells.push(count);
      }
      const partialAt = now - period;
      return { period, size: users.size, cells, partial: partialAt <= def.periods ? partialAt : null };
    });
  const mean: (number | null)[] = [];
  for (let k = 0; k <= def.periods; k += 1) {
    const ended = rows.filter((r) => r.period + k < now);
    const size = ended.reduce((a, r) => a + r.size, 0);
    mean.push(size === 0 ? null : ended.reduce((a, r) => a + (r.cells[k] ?? 0), 0) / size);
  }
  return { rows, mean };
}
