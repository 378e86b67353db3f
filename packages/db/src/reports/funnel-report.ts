// A funnel's numbers from its units' attempts (funnel.ts): per step, by entry day, by the entry's
// role, and the units that converted or dropped at a step. Same definitions as
// testing/reports/funnel.ts's funnel, which tests compare.
import type { FunnelAttempt } from './funnel.js';

export interface FunnelStepStats {
  /** Units that reached this step. */
  count: number;
  /** count ÷ step 1's count; ÷ the previous step's (1 for step 1; 0 when there is nobody). */
  conversion: number;
  fromPrevious: number;
  /** The previous step's count − this one's (0 for step 1). */
  dropOff: number;
  /** Time from the previous step's event over the units that reached this step (null for step 1 or nobody). */
  medianMs: number | null;
  p90Ms: number | null;
}

export interface FunnelReport {
  steps: FunnelStepStats[];
  /** Units that reached each step, per calendar day of the entry (oldest first). */
  byEntryDay: { day: string; counts: number[] }[];
  /** Units that reached each step, per role of the entry event (most units first). */
  byRole: { role: string; counts: number[] }[];
}

/** Lower percentile, as PostgreSQL's percentile_disc: the value at index ⌈p·n⌉ − 1 of the sorted list. */
function percentileDisc(sorted: readonly number[], p: number): number | null {
  return sorted.length === 0 ? null : sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

export function funnelReport(attempts: readonly FunnelAttempt[], stepCount: number): FunnelReport {
  const reached = new Array<number>(stepCount).fill(0);
  for (const a of attempts) for (let k = 0; k < a.at.length; k += 1) reached[k]! += 1;
  const steps = reached.map((count, k): FunnelStepStats => {
    const before = k === 0 ? count : reached[k - 1]!;
    const gaps =
      k === 0
        ? []
        : attempts
            .filter((a) => a.at.length > k)
            .map((a) => a.at[k]! - a.at[k - 1]!)
            .sort((x, y) => x - y);
    return {
      count,
      conversion: reached[0] === 0 ? 0 : count / reached[0]!,
      fromPrevious: before === 0 ? 0 : count / before,
      dropOff: before - count,
      medianMs: percentileDisc(gaps, 0.5),
      p90Ms: percentileDisc(gaps, 0.9),
    };
  });
  const tally = (key: (a: FunnelAttempt) => string) => {
    const out = new Map<string, number[]>();
    for (const a of attempts) {
      const row = out.get(key(a)) ?? new Array<number>(stepCount).fill(0);
      for (let k = 0; k < a.at.length; k += 1) row[k]! += 1;
      out.set(key(a), row);
    }
    return [...out];
  };
  return {
    steps,
    byEntryDay: tally((a) => a.entryDay)
      .sort(([x], [y]) => (x < y ? -1 : 1))
      .map(([day, counts]) => ({ day, counts })),
    byRole: tally((a) => a.entryRole)
      .sort(([x, a], [y, b]) => b[0]! - a[0]! || (x < y ? -1 : 1))
      .map(([role, counts]) => ({ role, counts })),
  };
}

/** Which units a step lists: those that reached it, or those that reached the previous step only. */
export type FunnelUnitStatus = 'converted' | 'dropped';

/**
 * The units at step `step` (0-based) with `status`, in unit order, after `after` (a keyset cursor:
 * the last unit of the previous page), at most `limit` (all when omitted).
 */
export function funnelUnits(
  attempts: readonly FunnelAttempt[],
  step: number,
  status: FunnelUnitStatus,
  opts: { after?: string; limit?: number } = {},
): { units: FunnelAttempt[]; more: boolean } {
  const chosen = attempts
    .filter((a) => (status === 'converted' ? a.at.length > step : step > 0 && a.at.length === step))
    .filter((a) => opts.after === undefined || a.unit > opts.after)
    .sort((a, b) => (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0));
  const limit = opts.limit ?? chosen.length;
  return { units: chosen.slice(0, limit), more: chosen.length > limit };
}
