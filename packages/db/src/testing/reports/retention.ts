// Retention cohorts, the reference definition: calendar periods in a time zone, nulls, the partial period.
import {
  byTime,
  groupBy,
  matchesStep,
  type Period,
  periodIndex,
  type RawEvent,
  type StepDef,
} from './events.js';

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
