import { describe, expect, it } from 'vitest';
import { BENCHMARKS, loadBenchOptions, SIZES } from './bench-config.js';
import {
  formatRow,
  makeRow,
  meets,
  percentileSorted,
  perSecond,
  ratioOf,
  requestsInBudget,
  round,
  summarize,
} from './bench-report.js';

describe('requestsInBudget', () => {
  it('fits the budget at the measured pace, within [least, most]', () => {
    expect(requestsInBudget(100, 15, 100, 5)).toBe(100); // 150 fit: capped
    expect(requestsInBudget(500, 15, 100, 5)).toBe(30);
    expect(requestsInBudget(8000, 20, 50, 5)).toBe(5); // 2 fit: the floor for a p95
    expect(requestsInBudget(Number.NaN, 3, 5, 5)).toBe(5); // no warm-up measured
    expect(requestsInBudget(0, 3, 50, 1)).toBe(50);
  });
});

describe('percentileSorted (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100

  it('gives the value at or below which p % of the samples lie', () => {
    expect(percentileSorted(hundred, 50)).toBe(50);
    expect(percentileSorted(hundred, 95)).toBe(95);
    expect(percentileSorted(hundred, 99)).toBe(99);
    expect(percentileSorted(hundred, 99.5)).toBe(100);
  });

  it('takes an actual sample, never an interpolation', () => {
    expect(percentileSorted([10, 20, 30, 40], 50)).toBe(20);
    expect(percentileSorted([10, 20, 30, 40], 51)).toBe(30);
    expect(percentileSorted([10, 20, 30], 99)).toBe(30);
  });

  it('handles the edges: one sample, p 0 and 100, no samples', () => {
    expect(percentileSorted([7], 50)).toBe(7);
    expect(percentileSorted([1, 2, 3], 0)).toBe(1);
    expect(percentileSorted([1, 2, 3], 100)).toBe(3);
    expect(percentileSorted([], 50)).toBeNaN();
  });
});

describe('summarize', () => {
  it('sorts numerically (not as strings) and leaves the input alone', () => {
    const samples = [100, 9, 25, 3, 1000, 50, 7, 80, 2, 10];
    const copy = [...samples];
    const s = summarize(samples);
    expect(samples).toEqual(copy);
    expect(s.count).toBe(10);
    expect(s.p50).toBe(10);
    expect(s.p95).toBe(1000);
    expect(s.p99).toBe(1000);
    expect(s.max).toBe(1000);
    expect(s.mean).toBeCloseTo(128.6, 10);
  });

  it('p99 of 1000 samples is the 990th smallest, whatever the order', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) + 1); // a permutation of 1..1000
    const s = summarize(samples);
    expect(s.p50).toBe(500);
    expect(s.p95).toBe(950);
    expect(s.p99).toBe(990);
  });

  it('reports NaN figures for no samples', () => {
    const s = summarize([]);
    expect(s.count).toBe(0);
    expect(s.p50).toBeNaN();
    expect(s.mean).toBeNaN();
  });
});

describe('ratioOf and perSecond', () => {
  it('is ours / baseline', () => {
    expect(ratioOf(500, 1000)).toBe(0.5);
    expect(ratioOf(12, 3000)).toBeCloseTo(0.004, 12);
  });

  it('is null without a usable baseline', () => {
    expect(ratioOf(5, null)).toBeNull();
    expect(ratioOf(5, undefined)).toBeNull();
    expect(ratioOf(5, 0)).toBeNull();
    expect(ratioOf(5, Number.NaN)).toBeNull();
    expect(ratioOf(Number.NaN, 5)).toBeNull();
  });

  it('counts per second over milliseconds', () => {
    expect(perSecond(1500, 3000)).toBe(500);
    expect(perSecond(10, 0)).toBe(0);
  });
});

describe('round', () => {
  it('keeps six significant digits, also for small figures', () => {
    expect(round(3456.789123)).toBe(3456.79);
    expect(round(0.0123456789)).toBe(0.0123457);
    expect(round(0.5)).toBe(0.5);
    expect(round(0)).toBe(0);
    expect(round(12.34567, 3)).toBe(12.3);
  });
});

describe('makeRow', () => {
  const at = new Date('2026-11-26T10:00:00Z');

  it('computes the ratio and checks a ratio goal on the unrounded figures', () => {
    const row = makeRow({
      name: 'ingest_single',
      value: 1499.9996,
      unit: 'events/s',
      baseline: 3000,
      latency: { p50: 10.123456, p95: 20, p99: 31.5 },
      goal: { field: 'ratio', op: '>=', target: 0.5 },
      parameters: { connections: 64 },
      loadavg: [1.23456, 2, 3],
      at,
    });
    expect(row.value).toBe(1500);
    expect(row.ratio).toBe(0.5);
    // 1499.9996 / 3000 is just below 0.5: the printed ratio rounds up, the check does not.
    expect(row.pass).toBe(false);
    expect(row.p50).toBe(10.1235);
    expect(row.p99).toBe(31.5);
    expect(row.better).toBe('higher');
    expect(row.loadavg).toEqual([1.23, 2, 3]);
    expect(row.at).toBe('2026-11-26T10:00:00.000Z');
  });

  it('shows a second baseline (the limit) and checks a goal against it', () => {
    const row = makeRow({
      name: 'ingest_single',
      value: 4000,
      unit: 'events/s',
      baseline: 5000,
      limit: { value: 9000, what: 'bare route' },
      goal: { field: 'limitRatio', op: '>=', target: 0.5 },
      loadavg: [0, 0, 0],
      at,
    });
    expect(row.ratio).toBe(0.8);
    expect(row.limit).toEqual({ value: 9000, ratio: 0.4444, what: 'bare route' });
    // Met against the first baseline, missed against the limit: the goal names the limit.
    expect(row.pass).toBe(false);
    const input = { name: 'ingest_single', value: 4000, unit: 'events/s', baseline: 5000, loadavg: [] };
    expect(makeRow({ ...input, limit: { value: 7000, what: 'bare route' }, goal: row.goal! }).pass).toBe(
      true,
    );
    expect(makeRow({ name: 'x', value: 1, unit: 'u', loadavg: [] }).limit).toBeUndefined();
  });

  it('checks latency goals on the named percentile', () => {
    const row = makeRow({
      name: 'e2e_latency',
      value: 900,
      unit: 'ms',
      better: 'lower',
      latency: { p50: 120, p95: 700, p99: 900 },
      goal: { field: 'p99', op: '<=', target: 1000 },
      loadavg: [0, 0, 0],
      at,
    });
    expect(row.pass).toBe(true);
    expect(row.baseline).toBeNull();
    expect(row.ratio).toBeNull();
    expect(meets({ value: 0, ratio: null, p99: 1000.5 }, { field: 'p99', op: '<=', target: 1000 })).toBe(
      false,
    );
    expect(meets({ value: 0, ratio: null }, { field: 'ratio', op: '>=', target: 0.5 })).toBe(false);
  });

  it('prints one JSON object per line with the contract fields', () => {
    const line = formatRow(
      makeRow({
        name: 'stats_query',
        value: 12,
        unit: 'ms',
        baseline: 2400,
        better: 'lower',
        loadavg: [1, 1, 1],
        at,
      }),
    );
    expect(line).not.toContain('\n');
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(
      expect.arrayContaining(['name', 'value', 'unit', 'baseline', 'ratio', 'parameters']),
    );
    expect(parsed.ratio).toBe(0.005);
  });
});

describe('loadBenchOptions', () => {
  it('uses the full sizes by default and saves only complete full runs', () => {
    const o = loadBenchOptions([], {});
    if (typeof o === 'string') throw new Error(`unexpected ${o}`);
    expect(o.sizes.singleConnections).toBe(64);
    expect(o.sizes.statsRows).toBe(5_000_000);
    // Every benchmark, the scaling curve last (it starts processors of its own).
    expect(o.only).toEqual([...BENCHMARKS]);
    expect(o.only).toHaveLength(7);
    expect(o.only.at(-1)).toBe('pipeline_scale');
    expect(o.only.indexOf('reports')).toBe(o.only.indexOf('stats_query') + 1);
    expect(o.sizes.reportsRows).toBe(5_000_000);
    expect(o.sizes.reportsUsers).toBe(200_000);
    expect(o.save).toBe(true);
  });

  it('quick sizes, env overrides, --only and --soak', () => {
    const o = loadBenchOptions(['--quick', '--only', 'pipeline,stats_query', '--soak'], {
      BENCH_STATS_ROWS: '1234',
    });
    if (typeof o === 'string') throw new Error(`unexpected ${o}`);
    expect(o.quick).toBe(true);
    expect(o.soak).toBe(true);
    expect(o.sizes.singleDurationS).toBe(SIZES.quick.singleDurationS);
    expect(o.sizes.statsRows).toBe(1234);
    expect(o.only).toEqual(['pipeline', 'stats_query']);
    expect(o.save).toBe(false);
  });

  it('reports: its own quick sizes, each overridden by its variable', () => {
    const quick = loadBenchOptions(['--quick', '--only', 'reports'], {});
    if (typeof quick === 'string') throw new Error(`unexpected ${quick}`);
    expect(quick.only).toEqual(['reports']);
    expect(quick.sizes).toMatchObject({
      reportsRows: SIZES.quick.reportsRows,
      reportsUsers: SIZES.quick.reportsUsers,
      reportsRequests: SIZES.quick.reportsRequests,
      reportsBudgetS: SIZES.quick.reportsBudgetS,
    });
    const set = loadBenchOptions([], {
      BENCH_REPORTS_ROWS: '1000000',
      BENCH_REPORTS_USERS: '40000',
      BENCH_REPORTS_REQUESTS: '7',
      BENCH_REPORTS_BUDGET_S: '9',
    });
    if (typeof set === 'string') throw new Error(`unexpected ${set}`);
    expect(set.sizes).toMatchObject({
      reportsRows: 1_000_000,
      reportsUsers: 40_000,
      reportsRequests: 7,
      reportsBudgetS: 9,
    });
    expect(() => loadBenchOptions([], { BENCH_REPORTS_USERS: '0' })).toThrow(/BENCH_REPORTS_USERS/);
  });

  it('reads BENCH_SERVICE_ENV as settings for every service', () => {
    const o = loadBenchOptions([], { BENCH_SERVICE_ENV: 'PROCESSOR_MAX_BYTES_PER_FETCH=2097152,X_Y=a=b' });
    if (typeof o === 'string') throw new Error(`unexpected ${o}`);
    expect(o.serviceEnv).toEqual({ PROCESSOR_MAX_BYTES_PER_FETCH: '2097152', X_Y: 'a=b' });
    expect(() => loadBenchOptions([], { BENCH_SERVICE_ENV: 'lower=1' })).toThrow(/BENCH_SERVICE_ENV/);
  });

  it("gives the services ./tracker's node flags, then BENCH_SERVICE_NODE_OPTIONS", () => {
    const both = loadBenchOptions([], {
      TRACKER_NODE_OPTIONS: '--max-semi-space-size=16',
      BENCH_SERVICE_NODE_OPTIONS: '--max-old-space-size=128',
    });
    if (typeof both === 'string') throw new Error(`unexpected ${both}`);
    expect(both.serviceNodeOptions).toBe('--max-semi-space-size=16 --max-old-space-size=128');
    const none = loadBenchOptions([], { TRACKER_NODE_OPTIONS: '' });
    if (typeof none === 'string') throw new Error(`unexpected ${none}`);
    expect(none.serviceNodeOptions).toBeUndefined();
  });

  it('refuses unknown benchmarks and flags', () => {
    expect(() => loadBenchOptions(['--only', 'nope'], {})).toThrow(/unknown benchmark nope/);
    expect(() => loadBenchOptions([], { BENCH_ONLY: 'pipeline,bogus' })).toThrow(/bogus/);
    expect(() => loadBenchOptions(['--fast'], {})).toThrow();
    expect(loadBenchOptions(['--help'], {})).toBe('help');
    expect(loadBenchOptions(['--chart'], {})).toBe('chart');
  });
});
