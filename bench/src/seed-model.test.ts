import { IdentifyInputSchema, InteractionInputSchema } from '@tracker/schemas';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { buildUsers, HOURLY, type SeedPlan, TrafficModel, WEEKLY } from './seed-model.js';

const END = Date.parse('2026-11-25T18:00:00Z');
const plan = (over: Partial<SeedPlan> = {}): SeedPlan => ({
  count: 5000,
  users: 250,
  days: 28,
  end: END,
  seed: 42,
  identifyShare: 0.8,
  ...over,
});

const model = new TrafficModel(plan());
const events = [...model.events()];

describe('TrafficModel', () => {
  it('generates exactly the requested count', () => {
    expect(events).toHaveLength(5000);
    expect([...new TrafficModel(plan({ count: 7 })).events()]).toHaveLength(7);
  });

  it('is deterministic: same seed and end give the same events and eventIds', () => {
    const again = [...new TrafficModel(plan()).events()];
    expect(again).toEqual(events);
    const other = [...new TrafficModel(plan({ seed: 43 })).events()];
    expect(other[0]!.eventId).not.toBe(events[0]!.eventId);
    const later = [...new TrafficModel(plan({ end: END + 3_600_000 })).events()];
    expect(later[0]!.eventId).not.toBe(events[0]!.eventId);
  });

  it('gives every event a distinct eventId', () => {
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
  });

  it('produces only what ingest accepts', () => {
    for (const e of events) expect(Value.Errors(InteractionInputSchema, e)).toEqual([]);
    for (const e of events) expect(e.action).toMatch(/^[a-z0-9_.:-]{1,64}$/);
    for (const call of model.identifyCalls()) expect(Value.Check(IdentifyInputSchema, call)).toBe(true);
  });

  it('keeps every timestamp within the last `days` days, none after end', () => {
    const times = events.map((e) => Date.parse(e.timestamp!));
    expect(Math.max(...times)).toBeLessThanOrEqual(END);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(END - 28 * 86_400_000);
    // Spread over the whole range, not bunched up.
    const distinctDays = new Set(times.map((t) => Math.floor(t / 86_400_000)));
    expect(distinctDays.size).toBeGreaterThanOrEqual(27);
  });

  it('follows a weekly and daily rhythm', () => {
    const byWeekday = Array(7).fill(0);
    const byHour = Array(24).fill(0);
    for (const e of events) {
      const d = new Date(e.timestamp!);
      byWeekday[d.getUTCDay()]++;
      byHour[d.getUTCHours()]++;
    }
    const weekday = (byWeekday[1] + byWeekday[2] + byWeekday[3]) / 3;
    const weekend = (byWeekday[0] + byWeekday[6]) / 2;
    expect(weekday).toBeGreaterThan(weekend * 1.4);
    expect(byHour[14]).toBeGreaterThan(byHour[3] * 4);
    expect(WEEKLY).toHaveLength(7);
    expect(HOURLY).toHaveLength(24);
  });

  it('makes page_view the dominant action among many', () => {
    const counts = new Map<string, number>();
    for (const e of events) counts.set(e.action, (counts.get(e.action) ?? 0) + 1);
    const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    expect(sorted[0]![0]).toBe('page_view');
    expect(sorted[0]![1] / events.length).toBeGreaterThan(0.45);
    expect(sorted[1]![0]).toBe('click');
    for (const action of ['form_submit', 'search', 'signup', 'purchase', 'login'])
      expect(counts.get(action)).toBeGreaterThan(0);
    expect(counts.size).toBeGreaterThanOrEqual(10);
  });

  it('ranks pages by a power law over many pages', () => {
    const views = new Map<string, number>();
    for (const e of events) if (e.action === 'page_view') views.set(e.page, (views.get(e.page) ?? 0) + 1);
    const ranked = [...views.values()].sort((a, b) => b - a);
    expect(views.size).toBeGreaterThan(50);
    expect(ranked[0]!).toBeGreaterThan(ranked[9]! * 3);
    expect(ranked[0]!).toBeGreaterThan(ranked[49]! * 10);
  });

  it('skews activity: the busiest 10% of users make most of the events', () => {
    const perUser = new Map<string, number>();
    for (const e of events) perUser.set(e.userId, (perUser.get(e.userId) ?? 0) + 1);
    const ranked = [...perUser.values()].sort((a, b) => b - a);
    const top = ranked.slice(0, Math.ceil(250 / 10)).reduce((a, b) => a + b, 0);
    expect(top / events.length).toBeGreaterThan(0.4);
  });

  it('groups events in sessions of one user, in time order', () => {
    const sessions = new Map<string, typeof events>();
    for (const e of events) sessions.set(e.sessionId!, [...(sessions.get(e.sessionId!) ?? []), e]);
    expect(sessions.size).toBeGreaterThan(300);
    expect(sessions.size).toBeLessThan(events.length / 2);
    for (const list of sessions.values()) {
      expect(new Set(list.map((e) => e.userId)).size).toBe(1);
      expect(list[0]!.action).toBe('page_view');
      const times = list.map((e) => Date.parse(e.timestamp!));
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });

  it('sends identify calls for most signed-up users and never for guests', () => {
    const calls = model.identifyCalls();
    const members = model.users.filter((u) => u.role !== 'GUEST');
    expect(calls.length).toBeGreaterThan(members.length * 0.6);
    expect(calls.length).toBeLessThanOrEqual(members.length);
    expect(calls.every((c) => c.role !== 'GUEST')).toBe(true);
    for (const c of calls) expect(Date.parse(c.timestamp!)).toBeLessThan(END);
  });
});

describe('buildUsers', () => {
  it('has few admins (at least one), many users and guests, and a few crawlers', () => {
    const users = buildUsers({ users: 1000, seed: 1, identifyShare: 0.8 });
    const count = (role: string) => users.filter((u) => u.role === role).length;
    expect(count('ADMIN')).toBe(20);
    expect(count('USER')).toBeGreaterThan(500);
    expect(count('GUEST')).toBeGreaterThan(350);
    expect(new Set(users.map((u) => u.userId)).size).toBe(1000);
    const bots = users.filter((u) => u.bot);
    expect(bots.length).toBeGreaterThan(0);
    expect(bots.every((u) => u.role === 'GUEST' && /bot/i.test(u.userAgent))).toBe(true);
    expect(
      buildUsers({ users: 3, seed: 1, identifyShare: 0 }).filter((u) => u.role === 'ADMIN'),
    ).toHaveLength(1);
  });
});
