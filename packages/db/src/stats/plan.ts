import { TIME_TABLES } from '../aggregates/catalog.js';

/** A filter dimension other than time. */
export type Dim = 'user' | 'role' | 'action' | 'page';
/** What a count is grouped by. `time` groups by the labels of the time ranges (days). */
export type GroupBy = 'none' | 'action' | 'page' | 'user' | 'time';

/** A table that can count interactions: which filters it can apply, what it can group by. */
export interface Source {
  name: string;
  table: string;
  /** Column holding the count; null for raw rows (each row counts 1). */
  count: string | null;
  dims: readonly Dim[];
  groups: readonly GroupBy[];
  /** Time grains in minutes, largest first; empty when the table has no time dimension. */
  grains: readonly number[];
  /** For time-bucketed sources: the table of each grain. */
  tables?: Readonly<Record<number, string>>;
  raw?: boolean;
}

const byGrain = (tables: Readonly<Record<number, string>>) => ({
  tables,
  grains: Object.keys(tables)
    .map(Number)
    .sort((a, b) => b - a),
});

const ALL_DIMS: Dim[] = ['user', 'role', 'action', 'page'];

/**
 * The sources in order of preference (smallest tables first). The first one that can apply every
 * filter and the grouping is used; raw rows can do anything and come last.
 */
export const SOURCES: readonly Source[] = [
  {
    name: 'agg_time_total',
    table: 'agg_time_total',
    count: 'n',
    dims: [],
    groups: ['none', 'time'],
    ...byGrain(TIME_TABLES.agg_time_total),
  },
  {
    name: 'agg_time_action',
    table: 'agg_time_action',
    count: 'n',
    dims: ['role', 'action'],
    groups: ['none', 'action', 'time'],
    ...byGrain(TIME_TABLES.agg_time_action),
  },
  {
    name: 'agg_page_action',
    table: 'agg_page_action',
    count: 'n',
    dims: ['role', 'action', 'page'],
    groups: ['none', 'action', 'page'],
    grains: [],
  },
  {
    name: 'users',
    table: 'users',
    count: 'action_count',
    dims: ['user'],
    groups: ['none', 'user'],
    grains: [],
  },
  {
    name: 'agg_user_action',
    table: 'agg_user_action',
    count: 'n',
    dims: ['user', 'role', 'action'],
    groups: ['none', 'action', 'user'],
    grains: [],
  },
  {
    name: 'agg_time_page',
    table: 'agg_time_page',
    count: 'n',
    dims: ['page'],
    groups: ['none', 'page', 'time'],
    ...byGrain(TIME_TABLES.agg_time_page),
  },
  {
    name: 'agg_user_page',
    table: 'agg_user_page',
    count: 'n',
    dims: ['user', 'page'],
    groups: ['none', 'page', 'user'],
    grains: [],
  },
  {
    name: 'agg_user_time',
    table: 'agg_user_time',
    count: 'n',
    dims: ['user'],
    groups: ['none', 'user', 'time'],
    ...byGrain(TIME_TABLES.agg_user_time),
  },
  {
    name: 'raw',
    table: 'interactions',
    count: null,
    dims: ALL_DIMS,
    groups: ['none', 'action', 'page', 'user', 'time'],
    grains: [],
    raw: true,
  },
];

/** The cheapest source that applies every filter dimension, the time filter (if any) and the grouping. */
export function chooseSource(dims: readonly Dim[], timeFiltered: boolean, group: GroupBy): Source {
  const needsTime = timeFiltered || group === 'time';
  for (const s of SOURCES) {
    if (!dims.every((d) => s.dims.includes(d))) continue;
    if (!s.groups.includes(group)) continue;
    if (needsTime && !s.raw && s.grains.length === 0) continue;
    return s;
  }
  throw new Error('unreachable: raw rows serve every query');
}

/**
 * A time range to count: aligned buckets of `grain` minutes, or raw rows when grain is 0.
 * start/end null mean unbounded. `label` tells which output group (day) it belongs to.
 */
export interface TimeRange {
  grain: number;
  start: number | null;
  end: number | null;
  label: number;
}

const MINUTE = 60_000;
const floorTo = (t: number, step: number) => Math.floor(t / step) * step;
const ceilTo = (t: number, step: number) => Math.ceil(t / step) * step;
const aligned = (t: number | null, step: number) => t === null || t % step === 0;
const lt = (a: number | null, b: number | null) => a === null || b === null || a < b;

/**
 * Splits [start, end) into buckets of the given grains (largest first, each dividing the previous),
 * using the largest grain that fits, and raw ranges for the parts finer than the smallest grain. The
 * ranges are disjoint and cover [start, end) exactly. Without grains the whole range is raw.
 */
export function decomposeRange(
  start: number | null,
  end: number | null,
  grains: readonly number[],
  label = 0,
): TimeRange[] {
  if (!lt(start, end)) return [];
  if (grains.length === 0) return [{ grain: 0, start, end, label }];
  const asc = [...grains].sort((x, y) => x - y);
  const head: TimeRange[] = [];
  const tail: TimeRange[] = [];
  let a = start;
  let b = end;
  const finest = asc[0]! * MINUTE;
  // Sub-bucket edges: raw rows.
  if (a !== null && a % finest !== 0) {
    const e = b === null ? ceilTo(a, finest) : Math.min(ceilTo(a, finest), b);
    head.push({ grain: 0, start: a, end: e, label });
    a = e;
  }
  if (b !== null && lt(a, b) && b % finest !== 0) {
    const s = a === null ? floorTo(b, finest) : Math.max(floorTo(b, finest), a);
    tail.unshift({ grain: 0, start: s, end: b, label });
    b = s;
  }
  // Climb: fine buckets up to the next coarser grain's edge, at both ends.
  for (let i = 0; i < asc.length - 1 && lt(a, b); i += 1) {
    const g = asc[i]!;
    const next = asc[i + 1]! * MINUTE;
    if (!aligned(a, next)) {
      const e = b === null ? ceilTo(a!, next) : Math.min(ceilTo(a!, next), b);
      head.push({ grain: g, start: a, end: e, label });
      a = e;
    }
    if (lt(a, b) && !aligned(b, next)) {
      const s = a === null ? floorTo(b!, next) : Math.max(floorTo(b!, next), a);
      tail.unshift({ grain: g, start: s, end: b, label });
      b = s;
    }
  }
  const middle: TimeRange[] = lt(a, b) ? [{ grain: asc[asc.length - 1]!, start: a, end: b, label }] : [];
  return [...head, ...middle, ...tail];
}

/**
 * Gini coefficient of a population given the histogram of its non-zero values (value, how many
 * users) and its size (users with zero included). Computed with integers and one division, so
 * the same population always gives the identical float however it was counted.
 * G = (2·Σ i·x(i) − (N+1)·Σx) / (N·Σx), x sorted ascending, i from 1.
 */
export function giniFromHistogram(
  histogram: ReadonlyArray<readonly [number, number]>,
  population: number,
): number {
  const sorted = [...histogram].filter(([v, m]) => v > 0 && m > 0).sort((x, y) => x[0] - y[0]);
  const nonZero = sorted.reduce((s, [, m]) => s + m, 0);
  const n = BigInt(Math.max(population, nonZero));
  let rank = n - BigInt(nonZero); // zeros take the first ranks
  let weighted = 0n;
  let total = 0n;
  for (const [value, count] of sorted) {
    const v = BigInt(value);
    const m = BigInt(count);
    // ranks rank+1 .. rank+m: their sum is m·rank + m(m+1)/2
    weighted += v * (m * rank + (m * (m + 1n)) / 2n);
    total += v * m;
    rank += m;
  }
  if (n === 0n || total === 0n) return 0;
  return Number(2n * weighted - (n + 1n) * total) / Number(n * total);
}

/**
 * Gini of a list of per-user values (zeros included), the textbook way over the sorted list: the
 * reference for giniFromHistogram (same integer formula, so equal inputs give the identical float).
 */
export function giniOfValues(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const n = BigInt(sorted.length);
  let weighted = 0n;
  let total = 0n;
  sorted.forEach((v, i) => {
    weighted += BigInt(i + 1) * BigInt(v);
    total += BigInt(v);
  });
  if (n === 0n || total === 0n) return 0;
  return Number(2n * weighted - (n + 1n) * total) / Number(n * total);
}

/** Calendar days from `first` to `last` inclusive, as YYYY-MM-DD (pure date arithmetic, no zone). */
export function daysBetween(first: string, last: string): string[] {
  const out: string[] = [];
  const end = Date.parse(`${last}T00:00:00Z`);
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= end; t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}
