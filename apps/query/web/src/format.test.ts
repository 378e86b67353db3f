import { describe, expect, it } from 'vitest';
import { formatDuration, formatNumber } from './format.js';

describe('formatDuration', () => {
  it('shows a duration to the second in its two largest units', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(499)).toBe('0 s');
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(59_600)).toBe('1 m');
    expect(formatDuration(252_000)).toBe('4 m 12 s');
    expect(formatDuration(600_000)).toBe('10 m');
    expect(formatDuration(3_600_000)).toBe('1 h');
    expect(formatDuration(7_530_000)).toBe('2 h 5 m');
    expect(formatDuration(-5)).toBe('0 s');
  });

  it('is what a duration card shows', () => {
    expect(formatNumber(115_222, 'duration')).toBe('1 m 55 s');
    expect(formatNumber(0.2222, 'percent')).toMatch(/^22\s?%$/);
  });
});
