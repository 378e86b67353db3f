import { describe, expect, it } from 'vitest';
import {
  BASE_DELAY_MS,
  backoffDelay,
  isRetryable,
  MAX_DELAY_MS,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
} from './retry.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('0', now)).toBe(0);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 11:59:00 GMT', now)).toBe(0);
  });

  it('caps absurd waits and ignores what it cannot read', () => {
    expect(parseRetryAfter('86400', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  it('doubles per attempt, between half and all of the exponential step', () => {
    for (const attempt of [1, 2, 3, 4]) {
      const step = BASE_DELAY_MS * 2 ** (attempt - 1);
      expect(backoffDelay(attempt, undefined, () => 0)).toBe(step / 2);
      expect(backoffDelay(attempt, undefined, () => 0.999999)).toBeCloseTo(step, -1);
    }
  });

  it('spreads retries of the same attempt (jitter)', () => {
    const delays = new Set([0.1, 0.4, 0.7, 0.9].map((r) => backoffDelay(3, undefined, () => r)));
    expect(delays.size).toBe(4);
  });

  it('never waits longer than the cap', () => {
    expect(backoffDelay(30, undefined, () => 1)).toBe(MAX_DELAY_MS);
  });

  it('takes the server’s Retry-After over its own schedule', () => {
    expect(backoffDelay(1, 12_000, () => 0.5)).toBe(12_000);
  });
});

describe('isRetryable', () => {
  it('retries 429 and 5xx only', () => {
    expect([429, 500, 502, 503, 504].every(isRetryable)).toBe(true);
    expect([400, 401, 403, 404, 413, 415, 422].some(isRetryable)).toBe(false);
  });
});
