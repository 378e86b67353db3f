/**
 * The soak test's verdict on memory (pure, unit-tested in soak-stats.test.ts): a least-squares line
 * through the RSS samples taken after the warm-up, and whether the growth it predicts over that
 * window is within tolerance. A service that leaks grows steadily (a slope that stays up); one that
 * does not stays flat after its caches and pools have filled, whatever its level.
 */

export interface RssSample {
  /** Seconds since the soak started. */
  t: number;
  rssMb: number;
}

export interface Regression {
  /** MB per second. */
  slope: number;
  intercept: number;
  /** Coefficient of determination (0..1; 0 when RSS did not move at all). */
  r2: number;
}

/** Ordinary least squares of rssMb on t. Needs at least two samples at different times. */
export function linearRegression(samples: readonly RssSample[]): Regression {
  const n = samples.length;
  if (n < 2) throw new Error(`a regression needs at least 2 samples, got ${n}`);
  const meanT = samples.reduce((s, p) => s + p.t, 0) / n;
  const meanY = samples.reduce((s, p) => s + p.rssMb, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of samples) {
    sxx += (p.t - meanT) ** 2;
    sxy += (p.t - meanT) * (p.rssMb - meanY);
    syy += (p.rssMb - meanY) ** 2;
  }
  if (sxx === 0) throw new Error('a regression needs samples at different times');
  const slope = sxy / sxx;
  return { slope, intercept: meanY - slope * meanT, r2: syy === 0 ? 0 : (sxy * sxy) / (sxx * syy) };
}

export interface Verdict {
  verdict: 'flat' | 'growing';
  /** MB per minute after the warm-up. */
  slopeMbPerMin: number;
  r2: number;
  /** What the line predicts RSS grew by over the measured window, in MB. */
  growthMb: number;
  /** The largest growth still called flat, in MB. */
  toleranceMb: number;
  samplesUsed: number;
  firstMb: number;
  lastMb: number;
  peakMb: number;
}

/**
 * Flat when the fitted growth over the window after `warmupS` stays within
 * max(`minToleranceMb`, `relativeTolerance` × median RSS); growing otherwise. GC makes RSS saw-tooth,
 * so single samples are not compared: only the fitted line is.
 */
export function memoryVerdict(
  samples: readonly RssSample[],
  {
    warmupS,
    minToleranceMb = 16,
    relativeTolerance = 0.05,
  }: { warmupS: number; minToleranceMb?: number; relativeTolerance?: number },
): Verdict {
  const used = samples.filter((s) => s.t >= warmupS && Number.isFinite(s.rssMb));
  if (used.length < 3)
    throw new Error(`need at least 3 samples after the ${warmupS} s warm-up, got ${used.length}`);
  const { slope, r2 } = linearRegression(used);
  const window = used.at(-1)!.t - used[0]!.t;
  const sorted = used.map((s) => s.rssMb).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const toleranceMb = Math.max(minToleranceMb, relativeTolerance * median);
  const growthMb = slope * window;
  return {
    verdict: growthMb > toleranceMb ? 'growing' : 'flat',
    slopeMbPerMin: slope * 60,
    r2,
    growthMb,
    toleranceMb,
    samplesUsed: used.length,
    firstMb: used[0]!.rssMb,
    lastMb: used.at(-1)!.rssMb,
    peakMb: sorted.at(-1)!,
  };
}
