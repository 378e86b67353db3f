import { IsDateTime } from 'typebox/format';
import { describe, expect, it } from 'vitest';
import { fastInstant, instantOf } from './instant.js';

/** A deterministic generator (mulberry32), so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
const digits = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');

/** Date-times near the usual shape: random digits (invalid days, hours 24-99…), zones, fractions, typos. */
function candidate(r: () => number): string {
  const year = pick(r, ['2026', '2000', '1999', '2024', '2100', '0099', '1000', '9999', digits(r, 4)]);
  const two = () => (r() < 0.7 ? String(Math.floor(r() * 32)).padStart(2, '0') : digits(r, 2));
  const fraction = pick(r, [
    '',
    '',
    '.5',
    '.123',
    '.1234567',
    `.${digits(r, 1 + Math.floor(r() * 12))}`,
    '.',
  ]);
  const zone = pick(r, [
    'Z',
    'Z',
    'z',
    '+00:00',
    '-05:30',
    `+${two()}:${two()}`,
    `-${two()}:${two()}`,
    '',
    '+0100',
    '[Europe/Paris]',
  ]);
  const sep = pick(r, ['T', 'T', 'T', 't', ' ']);
  let s = `${year}-${two()}-${two()}${sep}${two()}:${two()}:${two()}${fraction}${zone}`;
  if (r() < 0.1) {
    const i = Math.floor(r() * s.length);
    s = s.slice(0, i) + pick(r, ['-', ':', '1', 'x', '', '.']) + s.slice(i + 1);
  }
  return s;
}

describe('fastInstant', () => {
  it('reads the usual shapes', () => {
    const now = Date.now();
    expect(fastInstant(new Date(now).toISOString())).toBe(now);
    expect(fastInstant('2026-11-26T13:00:00Z')).toBe(Date.UTC(2026, 10, 26, 13));
    expect(fastInstant('2026-11-26T13:00:00.5+01:30')).toBe(Date.UTC(2026, 10, 26, 11, 30, 0, 500));
    expect(fastInstant('2024-02-29T23:59:59.999999-00:00')).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999));
  });

  it('leaves what it does not read to the full check: leap seconds, zone suffixes, other spellings', () => {
    for (const s of [
      '2016-12-31T23:59:60Z',
      '2026-01-01T00:00:00Z[Europe/Paris]',
      '2026-01-01t00:00:00z',
      '0099-01-01T00:00:00Z',
    ])
      expect(fastInstant(s)).toBeUndefined();
    expect(instantOf('2026-01-01T00:00:00+01:00[Europe/Paris]')).toBe(Date.UTC(2025, 11, 31, 23));
    expect(instantOf('2016-12-31T23:59:60Z')).toBeNaN();
  });

  it('reads a long fraction with a leading zero as 0.08 s, not 0.816 s (V8 Date.parse misreads it)', () => {
    const at = Date.UTC(2026, 3, 4, 8, 34, 22, 81);
    expect(instantOf('2026-04-04T03:04:22.0816179592-05:30')).toBe(at);
    expect(instantOf('2026-04-04T03:04:22.0816179592-05:30[America/Bogota]')).toBe(at);
    expect(instantOf('2026-04-04t03:04:22.0816179592-05:30')).toBe(at);
  });

  it('refuses impossible dates and times', () => {
    for (const s of [
      '2023-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:00:00+24:00',
      '2026-01-01T00:00:00.Z',
    ])
      expect(fastInstant(s)).toBeUndefined();
  });

  it('answers as TypeBox IsDateTime and Date.parse do, on 200 000 generated near-misses', () => {
    const r = random(20261126);
    let read = 0;
    for (let i = 0; i < 200_000; i += 1) {
      const s = candidate(r);
      const fast = fastInstant(s);
      if (fast === undefined) continue;
      read += 1;
      // whatever it reads is valid RFC 3339 and the instant Date.parse gives (fraction cut to ms:
      // V8 drops the leading zero of a fraction of 10 digits or more, see the test below)
      const at = Date.parse(s.replace(/(\.\d{3})\d+/, '$1'));
      expect({ s, valid: IsDateTime(s), at }).toEqual({ s, valid: true, at: fast });
    }
    // and it reads thousands of them (else the test would prove nothing)
    expect(read).toBeGreaterThan(2_000);
  });
});
