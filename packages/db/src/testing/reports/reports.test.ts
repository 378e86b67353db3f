// The report definitions' reference (testing/reports/) on the edge cases issue 26 names: each case
// is small enough to check by hand, which is what makes the oracle worth comparing SQL with.
import { describe, expect, it } from 'vitest';
import { localDay, periodIndex, type RawEvent, type StepDef } from './events.js';
import { funnel } from './funnel.js';
import { retention } from './retention.js';
import { sessionStats, sessionsOf } from './sessions.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 2, 10, 0, 0); // Monday 2026-11-02 10:00 UTC

let seq = 0;
function ev(userId: string, action: string, at: number, extra: Partial<RawEvent> = {}): RawEvent {
  seq += 1;
  return {
    eventId: `e${String(seq).padStart(4, '0')}`,
    userId,
    action,
    page: '/',
    role: 'user',
    occurredAt: at,
    ...extra,
  };
}
const step = (...actions: string[]): StepDef => ({ actions });

describe('sessions', () => {
  it('starts a new session after 30 minutes without an event (exactly 30: new), and after 24 hours', () => {
    const events = [
      ev('u', 'page_view', T0),
      ev('u', 'click', T0 + 29 * MIN + 59_999), // 1 ms short of the gap: same session
      ev('u', 'page_view', T0 + 59 * MIN + 59_999), // exactly 30 min after the previous: new
      ...Array.from({ length: 60 }, (_, i) => ev('v', 'click', T0 + i * 25 * MIN)), // 24.6 h, never idle
    ];
    const sessions = sessionsOf(events);
    const u = sessions.filter((s) => s.userId === 'u');
    expect(u.map((s) => s.events.length)).toEqual([2, 1]);
    const v = sessions.filter((s) => s.userId === 'v');
    // 25-min steps: the event at 24 h 10 min (index 58) is ≥ 24 h after the first, so it opens a new one.
    expect(v.map((s) => s.events.length)).toEqual([58, 2]);
    expect(v[0]!.durationMs).toBe(57 * 25 * MIN);
  });

  it("groups the client's sessionId whatever the gaps, and sessionizes the rest apart", () => {
    const events = [
      ev('u', 'page_view', T0, { sessionId: 'abc' }),
      ev('u', 'click', T0 + 5 * HOUR, { sessionId: 'abc' }),
      ev('u', 'page_view', T0 + MIN),
    ];
    const sessions = sessionsOf(events);
    expect(sessions.map((s) => [s.key, s.events.length, s.durationMs])).toEqual([
      ['s:abc', 2, 5 * HOUR],
      [`t:${T0 + MIN}`, 1, 0],
    ]);
  });

  it('counts a session crossing midnight in Asia/Kolkata once, on the day it started', () => {
    const start = Date.UTC(2026, 10, 2, 18, 20); // 23:50 IST
    const events = [ev('u', 'page_view', start), ev('u', 'page_view', start + 30 * MIN - 1)]; // 00:19:59.999 IST
    const [s] = sessionsOf(events);
    expect(sessionsOf(events)).toHaveLength(1);
    expect(localDay(s!.start, 'Asia/Kolkata')).toBe(localDay(Date.UTC(2026, 10, 2), 'UTC'));
    expect(localDay(s!.end, 'Asia/Kolkata')).toBe(localDay(Date.UTC(2026, 10, 3), 'UTC'));
    const day = Date.UTC(2026, 10, 2) - 5.5 * HOUR; // 2026-11-02 00:00 IST
    expect(sessionStats(sessionsOf(events), { from: day, to: day + DAY }).sessions).toBe(1);
    expect(sessionStats(sessionsOf(events), { from: day + DAY, to: day + 2 * DAY }).sessions).toBe(0);
  });

  it('bounce is one page_view alone; entry and exit pages, pages per session, exit rate', () => {
    const events = [
      ev('a', 'page_view', T0, { page: '/home' }), // bounce
      ev('b', 'click', T0, { page: '/home' }), // one event, not a page view: not a bounce
      ev('c', 'page_view', T0, { page: '/home' }),
      ev('c', 'page_view', T0 + MIN, { page: '/pricing' }),
      ev('c', 'click', T0 + 2 * MIN, { page: '/pricing' }),
    ];
    const stats = sessionStats(sessionsOf(events));
    expect(stats.sessions).toBe(3);
    expect(stats.bounceRate).toBeCloseTo(1 / 3, 12);
    expect(stats.pagesPerSession).toBeCloseTo(3 / 3, 12);
    expect(stats.meanDurationMs).toBeCloseTo((2 * MIN) / 3, 6);
    expect(stats.medianDurationMs).toBe(0);
    expect(stats.entryPages).toEqual([{ page: '/home', sessions: 3 }]);
    expect(stats.exitPages).toEqual([
      // Three sessions included /home (b only by a click), two ended there.
      { page: '/home', sessions: 2, sessionsWithPage: 3, exitRate: 2 / 3 },
      { page: '/pricing', sessions: 1, sessionsWithPage: 1, exitRate: 1 },
    ]);
    // A filter selects whole sessions: c's session has a /pricing event, so it counts with all of it.
    const pricing = sessionStats(sessionsOf(events), { matches: (e) => e.page === '/pricing' });
    expect([pricing.sessions, pricing.pagesPerSession]).toEqual([1, 2]);
  });
});

describe('funnels', () => {
  it('needs a second event for a step done twice, and counts a repeated step-1 once', () => {
    const events = [ev('u', 'a', T0), ev('u', 'a', T0 + MIN), ev('u', 'b', T0 + 2 * MIN), ev('v', 'a', T0)];
    expect(funnel(events, { steps: [step('a'), step('b')] }).steps.map((s) => s.count)).toEqual([2, 1]);
    // a → a: u has two a's, v only one (one event never fills two steps).
    const twice = funnel(events, { steps: [step('a'), step('a')] });
    expect(twice.steps.map((s) => s.count)).toEqual([2, 1]);
    expect(twice.steps[1]!.converted).toEqual(['u']);
    expect(twice.steps[1]!.dropped).toEqual(['v']);
  });

  it('steps out of order convert only in any order', () => {
    const events = [ev('u', 'b', T0), ev('u', 'a', T0 + MIN)];
    const def = { steps: [step('a'), step('b')] };
    expect(funnel(events, def).steps.map((s) => s.count)).toEqual([1, 0]);
    expect(funnel(events, { ...def, order: 'any' as const }).steps.map((s) => s.count)).toEqual([1, 1]);
  });

  it('any order matches events to steps so that the most steps are filled', () => {
    // x is both a and b; y is only a: greedy x→a would leave b empty, the matching puts x on b.
    const events = [ev('u', 'x', T0), ev('u', 'y', T0 + MIN)];
    const def = { steps: [step('x', 'y'), step('x')], order: 'any' as const };
    expect(funnel(events, def).steps.map((s) => s.count)).toEqual([1, 1]);
  });

  it('measures the window from step 1, inclusive to the millisecond', () => {
    const window = 2 * HOUR;
    const events = [
      ev('in', 'a', T0),
      ev('in', 'b', T0 + window), // exactly at the edge: converts
      ev('out', 'a', T0),
      ev('out', 'b', T0 + window + 1),
    ];
    const r = funnel(events, { steps: [step('a'), step('b')], windowMs: window });
    expect(r.steps[1]!.converted).toEqual(['in']);
    expect(r.steps[1]!.medianMs).toBe(window);
  });

  it('strict order breaks on any other event in between', () => {
    const events = [ev('u', 'a', T0), ev('u', 'noise', T0 + MIN), ev('u', 'b', T0 + 2 * MIN)];
    const def = { steps: [step('a'), step('b')] };
    expect(funnel(events, def).steps[1]!.count).toBe(1);
    expect(funnel(events, { ...def, order: 'strict' as const }).steps[1]!.count).toBe(0);
  });

  it('first entry (default) against the best attempt', () => {
    const events = [ev('u', 'a', T0), ev('u', 'a', T0 + 20 * DAY), ev('u', 'b', T0 + 21 * DAY)];
    const def = { steps: [step('a'), step('b')] };
    expect(funnel(events, def).steps[1]!.count).toBe(0); // the first a's window ended at day 14
    const best = funnel(events, { ...def, entry: 'best' as const });
    expect(best.steps[1]!.count).toBe(1);
    expect(best.steps[1]!.medianMs).toBe(DAY);
  });

  it('an exclusion event ends the attempt where it happens', () => {
    const events = [
      ev('u', 'a', T0),
      ev('u', 'b', T0 + MIN),
      ev('u', 'cancel', T0 + 2 * MIN),
      ev('u', 'c', T0 + 3 * MIN),
    ];
    const r = funnel(events, { steps: [step('a'), step('b'), step('c')], exclusion: step('cancel') });
    expect(r.steps.map((s) => s.count)).toEqual([1, 1, 0]);
    expect(r.steps.map((s) => s.dropOff)).toEqual([0, 0, 1]);
  });

  it('a role that changes inside the funnel: step filters see each event’s role, the breakdown the entry’s', () => {
    const events = [
      ev('u', 'signup', T0, { role: 'guest' }),
      ev('u', 'upgrade', T0 + HOUR, { role: 'member' }),
      ev('v', 'signup', T0, { role: 'guest' }),
      ev('v', 'upgrade', T0 + HOUR, { role: 'guest' }),
    ];
    const r = funnel(events, { steps: [step('signup'), { actions: ['upgrade'], role: 'member' }] });
    expect(r.steps[1]!.converted).toEqual(['u']);
    expect(r.byRole).toEqual(new Map([['guest', [2, 1]]]));
  });

  it('counts sessions as the unit, and conversion by entry day in the viewer’s time zone', () => {
    const late = Date.UTC(2026, 10, 2, 23, 0); // 2026-11-02 23:00 UTC = 2026-11-03 08:00 in Tokyo
    const events = [
      ev('u', 'a', late),
      ev('u', 'b', late + MIN),
      ev('u', 'a', late + 2 * HOUR), // a second session: entered, not converted
    ];
    const r = funnel(events, { steps: [step('a'), step('b')], unit: 'sessions', tz: 'Asia/Tokyo' });
    expect(r.steps.map((s) => s.count)).toEqual([2, 1]);
    expect(r.byEntryDay).toEqual(new Map([[localDay(Date.UTC(2026, 10, 3), 'UTC'), [2, 1]]]));
    expect(r.steps[1]!.fromPrevious).toBe(0.5);
  });
});

describe('retention', () => {
  const weekOf = (t: number) => periodIndex(t, 'UTC', 'week');

  it('first-time weekly cohorts: returns per week, null for weeks not begun, the current one partial', () => {
    const now = T0 + 15 * DAY; // week 2 after T0's week
    const events = [
      ev('a', 'signup', T0),
      ev('a', 'visit', T0 + 7 * DAY), // week 1
      ev('b', 'signup', T0 + DAY),
      ev('b', 'visit', T0 + 14 * DAY), // week 2 (current)
      ev('c', 'signup', T0 + 8 * DAY), // cohort of week 1
      ev('c', 'signup', T0 + 9 * DAY), // its second start does not make a new cohort
    ];
    const r = retention(events, { start: step('signup'), period: 'week', tz: 'UTC', periods: 3, now });
    expect(r.rows).toEqual([
      { period: weekOf(T0), size: 2, cells: [2, 1, 1, null], partial: 2 },
      { period: weekOf(T0) + 1, size: 1, cells: [1, 0, null, null], partial: 1 },
    ]);
    // Weighted over the cohorts whose period k has ended: k=1 only the first cohort (week 1 ended).
    expect(r.mean).toEqual([1, 0.5, null, null]);
    const onOrAfter = retention(events, {
      start: step('signup'),
      period: 'week',
      tz: 'UTC',
      periods: 3,
      now,
      mode: 'onOrAfter',
    });
    expect(onOrAfter.rows[0]!.cells).toEqual([2, 2, 1, null]); // b returned in week 2, so "on or after week 1"
  });

  it('recurring cohorts put a user in every period with a start event', () => {
    const events = [ev('a', 'buy', T0), ev('a', 'buy', T0 + 7 * DAY)];
    const def = { start: step('buy'), period: 'week' as const, tz: 'UTC', periods: 1, now: T0 + 30 * DAY };
    expect(retention(events, def).rows.map((r) => [r.size, ...r.cells])).toEqual([[1, 1, 1]]);
    expect(retention(events, { ...def, cohort: 'recurring' }).rows.map((r) => r.cells)).toEqual([
      [1, 1],
      [1, 0],
    ]);
  });

  it('periods follow the viewer’s calendar: weeks from Monday, days and months in the time zone', () => {
    const sundayNightUtc = Date.UTC(2026, 10, 8, 22, 0); // Sunday 22:00 UTC = Monday 07:00 in Tokyo
    expect(periodIndex(sundayNightUtc, 'UTC', 'week')).toBe(weekOf(T0));
    expect(periodIndex(sundayNightUtc, 'Asia/Tokyo', 'week')).toBe(weekOf(T0) + 1);
    expect(periodIndex(Date.UTC(2026, 10, 30, 20), 'Asia/Kolkata', 'month')).toBe(2026 * 12 + 11);
    expect(periodIndex(Date.UTC(2026, 10, 30, 20), 'UTC', 'month')).toBe(2026 * 12 + 10);
    expect(periodIndex(Date.UTC(2026, 10, 2, 20), 'America/New_York', 'day')).toBe(
      periodIndex(Date.UTC(2026, 10, 2, 12), 'UTC', 'day'),
    );
  });
});
