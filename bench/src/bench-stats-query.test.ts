import { describe, expect, it } from 'vitest';
import { localMidnight, statsVariants } from './bench-stats-query.js';

describe('localMidnight', () => {
  it('finds the instant a calendar day starts in a zone, across DST changes', () => {
    expect(localMidnight('2026-11-26', 'America/New_York').toISOString()).toBe('2026-11-26T05:00:00.000Z');
    expect(localMidnight('2026-03-08', 'America/New_York').toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(localMidnight('2026-03-09', 'America/New_York').toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(localMidnight('2026-01-01', 'Asia/Kathmandu').toISOString()).toBe('2025-12-31T18:15:00.000Z');
    expect(localMidnight('2026-06-01', 'UTC').toISOString()).toBe('2026-06-01T00:00:00.000Z');
  });
});

describe('statsVariants', () => {
  it("asks for the dashboard's last 30 days in New York as 30 local days ending tomorrow", () => {
    const now = Date.parse('2026-11-26T03:00:00Z'); // still the 25th in New York
    const v = statsVariants(now).find((x) => x.filter === 'last30DaysNewYork')!;
    expect(v.query).toEqual({
      from: '2026-10-27T04:00:00.000Z', // EDT until Nov 1
      to: '2026-11-26T05:00:00.000Z',
      tz: 'America/New_York',
    });
    expect(v.opts).toEqual({ tz: 'America/New_York' });
  });
});
