import { describe, expect, it } from 'vitest';
import { createRng, stableUuid, Weighted, zipfWeights } from './seed-random.js';

describe('createRng', () => {
  it('gives the same sequence for the same seed, another for another seed', () => {
    const draw = (seed: number) => {
      const r = createRng(seed);
      return [r.float(), r.int(1, 6), r.hex(8), r.pick(['a', 'b', 'c'])];
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it('stays in range', () => {
    const r = createRng(1);
    for (let i = 0; i < 1000; i++) {
      const f = r.float();
      const n = r.int(3, 5);
      expect(f >= 0 && f < 1).toBe(true);
      expect([3, 4, 5]).toContain(n);
      expect(r.exponential(10)).toBeGreaterThanOrEqual(0);
    }
    expect(r.hex(13)).toMatch(/^[0-9a-f]{13}$/);
  });
});

describe('Weighted', () => {
  it('draws in proportion to the weights', () => {
    const w = Weighted.of([
      ['a', 1],
      ['b', 3],
      ['c', 0],
    ] as const);
    const r = createRng(7);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 20_000; i++) counts[w.sample(r)]++;
    expect(counts.c).toBe(0);
    expect(counts.b / counts.a).toBeGreaterThan(2.7);
    expect(counts.b / counts.a).toBeLessThan(3.3);
  });

  it('refuses weights that cannot be drawn from', () => {
    expect(() => new Weighted(['a'], [0])).toThrow(/sum to 0/);
    expect(() => new Weighted(['a', 'b'], [1])).toThrow(/one weight per item/);
    expect(() => new Weighted(['a'], [-1])).toThrow(/>= 0/);
  });
});

describe('zipfWeights', () => {
  it('falls as a power of the rank', () => {
    const w = zipfWeights(4, 1);
    expect(w).toEqual([1, 1 / 2, 1 / 3, 1 / 4]);
  });
});

describe('stableUuid', () => {
  it('is a v4-shaped UUID, the same for the same parts and different otherwise', () => {
    const id = stableUuid(42, 1_764_000_000_000, 7);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stableUuid(42, 1_764_000_000_000, 7)).toBe(id);
    expect(stableUuid(42, 1_764_000_000_000, 8)).not.toBe(id);
    expect(stableUuid(43, 1_764_000_000_000, 7)).not.toBe(id);
  });
});
