/**
 * The benchmark result rows and the maths behind them (percentiles, ratios, goals). Pure: no I/O,
 * so the unit tests in bench-report.test.ts pin down exactly what a printed figure means.
 */

/** Which direction is better for a row's value (throughput: higher; latency and memory: lower). */
export type Better = 'higher' | 'lower';

/** A goal a row is checked against: `ratio >= 0.5`, `p99 <= 1000` (ms)... */
export interface Goal {
  /** The row field the goal applies to (`limitRatio`: `limit.ratio`). */
  field: 'ratio' | 'limitRatio' | 'value' | 'p50' | 'p95' | 'p99';
  op: '>=' | '<=';
  target: number;
}

/** One printed line of `./tracker bench` (also what bench/results/latest.json keeps). */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** The same work done the simple way (see each benchmark), in the same unit; null when none applies. */
  baseline: number | null;
  /** value / baseline (null without a baseline). Read it with `better`: for latency lower is better. */
  ratio: number | null;
  /**
   * A second baseline: what the machine can do for the same work at all (a bare Fastify route, a
   * binary COPY), and value / that.
   */
  limit?: { value: number; ratio: number | null; what: string };
  better: Better;
  parameters: Record<string, unknown>;
  /** Latency rows: percentiles in ms. */
  p50?: number;
  p95?: number;
  p99?: number;
  goal?: Goal;
  /** Whether the goal was met (absent without a goal). */
  pass?: boolean;
  /** 1, 5 and 15 minute load averages when the row was measured (the machine is shared). */
  loadavg: number[];
  at: string;
}

/**
 * The p-th percentile (0..100) of already sorted values, nearest-rank method: the smallest value
 * such that at least p % of the samples are less or equal. NaN for no samples.
 */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0]!;
  if (p >= 100) return sorted[sorted.length - 1]!;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)]!;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Percentiles of latency samples in ms (any order; the input is not modified). */
export function summarize(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples as ArrayLike<number>).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: sorted.length > 0 ? sum / sorted.length : Number.NaN,
    p50: percentileSorted(sorted, 50),
    p95: percentileSorted(sorted, 95),
    p99: percentileSorted(sorted, 99),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/**
 * How many sequential requests to time: as many as fit `budgetS` seconds at `eachMs` per request,
 * at most `most` and at least `least` (slow endpoints still get enough samples for a p95).
 */
export function requestsInBudget(eachMs: number, budgetS: number, most: number, least: number): number {
  const each = Number.isFinite(eachMs) && eachMs > 0 ? eachMs : 1;
  return Math.max(least, Math.min(most, Math.floor((budgetS * 1000) / each)));
}

/** value / baseline, or null when there is no usable baseline. */
export function ratioOf(value: number, baseline: number | null | undefined): number | null {
  if (baseline === null || baseline === undefined || !Number.isFinite(baseline) || baseline <= 0) return null;
  if (!Number.isFinite(value)) return null;
  return value / baseline;
}

/** Events (or requests) per second over a duration in ms. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : 0;
}

/** Rounds to `significant` significant digits (6 by default): 3456.789 -> 3456.79, 0.0123456 -> 0.0123456. */
export function round(value: number, significant = 6): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(significant));
}

/** Whether a row meets its goal. */
export function meets(
  row: Pick<BenchRow, 'value' | 'ratio' | 'p50' | 'p95' | 'p99'> & { limitRatio?: number | null },
  goal: Goal,
): boolean {
  const actual = row[goal.field];
  if (actual === null || actual === undefined || !Number.isFinite(actual)) return false;
  return goal.op === '>=' ? actual >= goal.target : actual <= goal.target;
}

export interface RowInput {
  name: string;
  value: number;
  unit: string;
  baseline?: number | null;
  limit?: { value: number; what: string };
  better?: Better;
  parameters?: Record<string, unknown>;
  latency?: Pick<LatencySummary, 'p50' | 'p95' | 'p99'>;
  goal?: Goal;
  loadavg: number[];
  at?: Date;
}

/** A finished row: rounded figures, ratio, goal check. */
export function makeRow(input: RowInput): BenchRow {
  const baseline = input.baseline ?? null;
  const row: BenchRow = {
    name: input.name,
    value: round(input.value),
    unit: input.unit,
    baseline: baseline === null ? null : round(baseline),
    ratio: null,
    better: input.better ?? 'higher',
    parameters: input.parameters ?? {},
    loadavg: input.loadavg.map((l) => round(l, 3)),
    at: (input.at ?? new Date()).toISOString(),
  };
  const ratio = ratioOf(input.value, baseline);
  row.ratio = ratio === null ? null : round(ratio, 4);
  const limitRatio = input.limit ? ratioOf(input.value, input.limit.value) : null;
  if (input.limit) {
    row.limit = {
      value: round(input.limit.value),
      ratio: limitRatio === null ? null : round(limitRatio, 4),
      what: input.limit.what,
    };
  }
  if (input.latency) {
    row.p50 = round(input.latency.p50);
    row.p95 = round(input.latency.p95);
    row.p99 = round(input.latency.p99);
  }
  if (input.goal) {
    row.goal = input.goal;
    // Checked on the unrounded figures.
    row.pass = meets(
      {
        value: input.value,
        ratio,
        limitRatio,
        p50: input.latency?.p50,
        p95: input.latency?.p95,
        p99: input.latency?.p99,
      },
      input.goal,
    );
  }
  return row;
}

/** The JSON line printed on stdout for a row. */
export function formatRow(row: BenchRow): string {
  return JSON.stringify(row);
}

/** "ratio >= 0.5" for logs, the chart and the README. */
export function describeGoal(goal: Goal): string {
  return `${goal.field} ${goal.op === '>=' ? '≥' : '≤'} ${goal.target}`;
}

/** Pulls every `name`/`parameters` match of a previous results file, for comparisons. */
export function findRow(
  rows: BenchRow[],
  name: string,
  match: Record<string, unknown> = {},
): BenchRow | undefined {
  return rows.find((r) => r.name === name && Object.entries(match).every(([k, v]) => r.parameters[k] === v));
}
