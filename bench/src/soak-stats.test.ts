import { describe, expect, it } from 'vitest';
import { linearRegression, memoryVerdict, type RssSample } from './soak-stats.js';

const series = (n: number, f: (t: number) => number, step = 10): RssSample[] =>
  Array.from({ length: n }, (_, i) => ({ t: i * step, rssMb: f(i * step) }));

describe('linearRegression', () => {
  it('recovers an exact line', () => {
    const r = linearRegression(series(10, (t) => 100 + 0.5 * t));
    expect(r.slope).toBeCloseTo(0.5, 10);
    expect(r.intercept).toBeCloseTo(100, 10);
    expect(r.r2).toBeCloseTo(1, 10);
  });

  it('gives slope 0 and r2 0 for a constant series, and refuses too few points', () => {
    expect(linearRegression(series(5, () => 80))).toEqual({ slope: 0, intercept: 80, r2: 0 });
    expect(() => linearRegression(series(1, () => 80))).toThrow(/at least 2/);
    expect(() =>
      linearRegression([
        { t: 5, rssMb: 1 },
        { t: 5, rssMb: 2 },
      ]),
    ).toThrow(/different times/);
  });
});

describe('memoryVerdict', () => {
  it('calls a saw-tooth around a level flat, ignoring the warm-up climb', () => {
    // Climbs 100 -> 160 MB in the first minute, then GC saw-tooth of +-8 MB for 9 minutes.
    const samples = series(61, (t) => (t < 60 ? 100 + t : 160 + (t % 40 < 20 ? 8 : -8)));
    const v = memoryVerdict(samples, { warmupS: 60 });
    expect(v.verdict).toBe('flat');
    expect(Math.abs(v.growthMb)).toBeLessThan(v.toleranceMb);
    expect(v.samplesUsed).toBe(55);
    expect(v.peakMb).toBe(168);
  });

  it('calls a steady leak growing even under noise', () => {
    // 3 MB per minute over 9 minutes = 27 MB, more than max(16, 5 % of ~180).
    const samples = series(61, (t) => 150 + 0.05 * t + (t % 20 === 0 ? 4 : -4));
    const v = memoryVerdict(samples, { warmupS: 60 });
    expect(v.verdict).toBe('growing');
    expect(v.slopeMbPerMin).toBeCloseTo(3, 0);
    expect(v.growthMb).toBeGreaterThan(v.toleranceMb);
  });

  it('scales the tolerance with the level and has a floor', () => {
    expect(
      memoryVerdict(
        series(10, () => 100),
        { warmupS: 0 },
      ).toleranceMb,
    ).toBe(16);
    expect(
      memoryVerdict(
        series(10, () => 1000),
        { warmupS: 0 },
      ).toleranceMb,
    ).toBe(50);
    expect(() =>
      memoryVerdict(
        series(10, () => 1),
        { warmupS: 85 },
      ),
    ).toThrow(/at least 3 samples/);
  });
});
