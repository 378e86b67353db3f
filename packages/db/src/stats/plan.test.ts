import { seededRandom } from '@tracker/test-utils';
import { describe, expect, it } from 'vitest';
import {
  chooseSource,
  daysBetween,
  decomposeRange,
  giniFromHistogram,
  giniOfValues,
  type TimeRange,
} from './plan.js';

const M = 60_000;
const T0 = Date.UTC(2026, 0, 5); // a UTC midnight

/** Every range is aligned to its grain, ranges are disjoint, contiguous and cover [start, end). */
function expectCover(ranges: TimeRange[], start: number | null, end: number | null) {
  let cursor = start;
  for (const r of ranges) {
    expect(r.start).toBe(cursor);
    if (r.grain > 0) {
      if (r.start !== null) expect(r.start % (r.grain * M)).toBe(0);
      if (r.end !== null) expect(r.end % (r.grain * M)).toBe(0);
    }
    if (r.start !== null && r.end !== null) expect(r.end).toBeGreaterThan(r.start);
    cursor = r.end;
  }
  expect(cursor).toBe(end);
}

describe('decomposeRange', () => {
  const grains = [1440, 60, 15];

  it('uses one day bucket for an aligned day', () => {
    expect(decomposeRange(T0, T0 + 1440 * M, grains)).toEqual([
      { grain: 1440, start: T0, end: T0 + 1440 * M, label: 0 },
    ]);
  });

  it('splits a +5:45 local day into quarters, hours and whole days', () => {
    const start = T0 + (18 * 60 + 15) * M; // 18:15Z = local midnight in Asia/Kathmandu
    const end = start + 1440 * M;
    const ranges = decomposeRange(start, end, grains, 7);
    expectCover(ranges, start, end);
    expect(ranges.every((r) => r.label === 7 && r.grain > 0)).toBe(true);
    expect(ranges.filter((r) => r.grain === 15)).toHaveLength(2);
    expect(ranges.filter((r) => r.grain === 1440)).toHaveLength(0);
  });

  it('reads raw rows only for the parts finer than the finest grain', () => {
    const start = T0 + 7 * M + 123; // 00:07:00.123
    const end = T0 + 3 * 1440 * M + 61 * M + 5; // 3 days later 01:01:00.005
    const ranges = decomposeRange(start, end, grains);
    expectCover(ranges, start, end);
    const raw = ranges.filter((r) => r.grain === 0);
    expect(raw).toEqual([
      { grain: 0, start, end: T0 + 15 * M, label: 0 },
      { grain: 0, start: T0 + 3 * 1440 * M + 60 * M, end, label: 0 },
    ]);
    expect(ranges.filter((r) => r.grain === 1440)).toEqual([
      { grain: 1440, start: T0 + 1440 * M, end: T0 + 3 * 1440 * M, label: 0 },
    ]);
  });

  it('handles unbounded ends with the largest grain', () => {
    expect(decomposeRange(null, null, grains)).toEqual([{ grain: 1440, start: null, end: null, label: 0 }]);
    const from = T0 + 90 * M + 1;
    const ranges = decomposeRange(from, null, grains);
    expectCover(ranges, from, null);
    expect(ranges.at(-1)).toEqual({ grain: 1440, start: T0 + 1440 * M, end: null, label: 0 });
    const to = T0 + 30 * M;
    expectCover(decomposeRange(null, to, grains), null, to);
  });

  it('uses raw rows for a range inside one bucket, and nothing for an empty range', () => {
    expect(decomposeRange(T0 + 1000, T0 + 2000, grains)).toEqual([
      { grain: 0, start: T0 + 1000, end: T0 + 2000, label: 0 },
    ]);
    expect(decomposeRange(T0, T0, grains)).toEqual([]);
    expect(decomposeRange(T0 + 1, T0, grains)).toEqual([]);
  });

  it('is all raw without grains', () => {
    expect(decomposeRange(T0, T0 + 5, [])).toEqual([{ grain: 0, start: T0, end: T0 + 5, label: 0 }]);
  });

  it('covers many random ranges exactly', () => {
    const rand = seededRandom(42);
    for (let i = 0; i < 500; i += 1) {
      const a = T0 + Math.floor(rand() * 5 * 1440 * M);
      const b = a + Math.floor(rand() * 3 * 1440 * M) + 1;
      expectCover(decomposeRange(a, b, grains), a, b);
      expectCover(decomposeRange(a, b, [1440, 60]), a, b);
    }
  });
});

describe('chooseSource', () => {
  it('answers unfiltered statistics from the small tables', () => {
    expect(chooseSource([], false, 'action').name).toBe('agg_time_action');
    expect(chooseSource([], false, 'page').name).toBe('agg_page_action');
    expect(chooseSource([], false, 'user').name).toBe('users');
    expect(chooseSource([], false, 'time').name).toBe('agg_time_total');
    expect(chooseSource([], true, 'none').name).toBe('agg_time_total');
  });

  it('picks a per-user rollup for each single filter', () => {
    expect(chooseSource(['role'], false, 'user').name).toBe('agg_user_action');
    expect(chooseSource(['action'], false, 'user').name).toBe('agg_user_action');
    expect(chooseSource(['page'], false, 'user').name).toBe('agg_user_page');
    expect(chooseSource([], true, 'user').name).toBe('agg_user_time');
    expect(chooseSource(['user'], false, 'user').name).toBe('users');
  });

  it('uses the time rollups for time filters and daily series', () => {
    expect(chooseSource(['page'], false, 'time').name).toBe('agg_time_page');
    expect(chooseSource(['user'], false, 'time').name).toBe('agg_user_time');
    expect(chooseSource([], true, 'page').name).toBe('agg_time_page');
    expect(chooseSource(['role', 'action'], true, 'action').name).toBe('agg_time_action');
  });

  it('falls back to raw rows where no rollup has every dimension', () => {
    expect(chooseSource(['role', 'page'], false, 'time').name).toBe('raw');
    expect(chooseSource(['action'], true, 'user').name).toBe('raw');
    expect(chooseSource(['page'], true, 'action').name).toBe('raw');
    expect(chooseSource(['user', 'role'], true, 'action').name).toBe('raw');
  });
});

describe('gini', () => {
  it('is 0 for an even population and when nobody acted', () => {
    expect(giniOfValues([3, 3, 3])).toBe(0);
    expect(giniOfValues([0, 0])).toBe(0);
    expect(giniOfValues([])).toBe(0);
    expect(giniFromHistogram([], 10)).toBe(0);
  });

  it('tends to 1 when one user does everything', () => {
    expect(giniOfValues([0, 0, 0, 10])).toBeCloseTo(0.75, 12);
    expect(giniOfValues([...Array(999).fill(0), 5])).toBeCloseTo(0.999, 12);
  });

  it('matches the mean-absolute-difference definition', () => {
    const xs = [0, 1, 1, 4, 7, 7, 7, 20];
    let diff = 0;
    for (const a of xs) for (const b of xs) diff += Math.abs(a - b);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(giniOfValues(xs)).toBeCloseTo(diff / (2 * xs.length ** 2 * mean), 12);
  });

  it('from a histogram equals the sorted-list computation exactly', () => {
    const xs = [0, 0, 5, 1, 1, 4, 7, 7, 7, 20, 0];
    const hist = new Map<number, number>();
    for (const x of xs) if (x > 0) hist.set(x, (hist.get(x) ?? 0) + 1);
    expect(giniFromHistogram([...hist.entries()], xs.length)).toBe(giniOfValues(xs));
  });
});

describe('daysBetween', () => {
  it('lists calendar days inclusive, across months and leap days', () => {
    expect(daysBetween('2028-02-27', '2028-03-01')).toEqual([
      '2028-02-27',
      '2028-02-28',
      '2028-02-29',
      '2028-03-01',
    ]);
    expect(daysBetween('2026-01-02', '2026-01-01')).toEqual([]);
  });
});
