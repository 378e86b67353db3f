/**
 * What the reports' reference definitions (sessions.ts, funnel.ts, retention.ts here) share: the raw
 * event, its order, grouping, percentiles, calendar periods in a time zone and step matching. The
 * references compute issue 26's reports the slow, obvious way; the SQL is compared with them in tests.
 */

import type { InteractionRow } from '../../aggregates/rows.js';
import type { Step } from '../../reports/step.js';

export interface RawEvent {
  eventId: string;
  userId: string;
  action: string;
  page: string;
  role: string;
  /** Milliseconds since the epoch. */
  occurredAt: number;
  sessionId?: string | null;
}

/** A stored row as the oracle reads it. */
export function rawEventOf(r: InteractionRow): RawEvent {
  const { eventId, userId, action, page, role, occurredAt, sessionId } = r;
  return { eventId, userId, action, page, role, occurredAt, sessionId };
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** Events in the order every definition walks them: time, then eventId (equal instants are ordered, never merged). */
export function byTime(a: RawEvent, b: RawEvent): number {
  return a.occurredAt - b.occurredAt || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Lower median (the value at index ⌊(n − 1) / 2⌋ of the sorted list), as percentile_disc(0.5). */
export function percentileDisc(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** The calendar day of `t` in `tz`, as days since 1970-01-01 (a local date, not an instant). */
export function localDay(t: number, tz: string): number {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return Date.UTC(get('year'), get('month') - 1, get('day')) / DAY_MS;
}

export type Period = 'day' | 'week' | 'month';

/** The period holding `t` in `tz`, numbered so that consecutive periods differ by 1 (weeks from Monday). */
export function periodIndex(t: number, tz: string, period: Period): number {
  const day = localDay(t, tz);
  if (period === 'day') return day;
  if (period === 'week') return Math.floor((day + 3) / 7); // 1970-01-01 was a Thursday
  const date = new Date(day * DAY_MS);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

// ----------------------------------------------------------------------------------------- steps

/** The same step filter as the SQL implementations take. */
export type StepDef = Step;

export function matchesStep(e: RawEvent, step: StepDef): boolean {
  if (step.actions && !step.actions.includes(e.action)) return false;
  if (step.role !== undefined && e.role !== step.role) return false;
  if (step.page && !(step.page.prefix ? e.page.startsWith(step.page.value) : e.page === step.page.value))
    return false;
  return true;
}
