import { createHash } from 'node:crypto';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** A seeded source of randomness: the same seed gives the same sequence on every machine. */
export interface Rng {
  /** Uniform in [0, 1). */
  float(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** `n` random hex digits. */
  hex(n: number): string;
  /** Exponentially distributed with the given mean (waiting times). */
  exponential(mean: number): number;
}

export function createRng(seed: number): Rng {
  const g = xoroshiro128plus(seed | 0);
  const float = () => uniformFloat64(g);
  return {
    float,
    int: (min, max) => uniformInt(g, min, max),
    chance: (p) => float() < p,
    pick: (items) => items[uniformInt(g, 0, items.length - 1)]!,
    hex: (n) => {
      let s = '';
      while (s.length < n) s += uniformInt(g, 0, 0xffff).toString(16).padStart(4, '0');
      return s.slice(0, n);
    },
    exponential: (mean) => -mean * Math.log(1 - float()),
  };
}

/** Weights 1/rank^s for ranks 1..n: Zipf's law, the shape of page popularity and user activity. */
export function zipfWeights(n: number, s: number): number[] {
  return Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
}

/** Draws items with probability proportional to their weights (cumulative sums + binary search). */
export class Weighted<T> {
  private readonly cumulative: number[] = [];
  private readonly total: number;

  constructor(
    readonly items: readonly T[],
    weights: readonly number[],
  ) {
    if (items.length === 0 || items.length !== weights.length)
      throw new Error('Weighted: one weight per item, at least one item');
    let sum = 0;
    for (const w of weights) {
      if (!(w >= 0)) throw new Error(`Weighted: weights must be >= 0, got ${w}`);
      sum += w;
      this.cumulative.push(sum);
    }
    if (sum <= 0) throw new Error('Weighted: weights sum to 0');
    this.total = sum;
  }

  /** From `[item, weight]` pairs. */
  static of<T>(pairs: readonly (readonly [T, number])[]): Weighted<T> {
    return new Weighted(
      pairs.map((p) => p[0]),
      pairs.map((p) => p[1]),
    );
  }

  sample(rng: Rng): T {
    const x = rng.float() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo]!;
  }
}

/**
 * A v4-shaped UUID that is a pure function of its parts: the same seed, end time and index give the
 * same eventId, so seeding twice with the same arguments is counted once downstream.
 */
export function stableUuid(...parts: (string | number)[]): string {
  const b = createHash('sha256').update(parts.join(':')).digest();
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
