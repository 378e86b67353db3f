// Sessions and their statistics, the reference definition (PostHog's 30-minute gap and 24 h cap).
import type { SessionStatsResult } from '../../reports/session-stats.js';
import { byTime, DAY_MS, groupBy, MINUTE_MS, percentileDisc, type RawEvent } from './events.js';

export interface SessionOptions {
  /** A gap of at least this long without an event from the user starts a new session. Default 30 min. */
  inactivityMs?: number;
  /** An event at least this long after the session's first event starts a new one. Default 24 h. */
  maxMs?: number;
}

export interface Session {
  userId: string;
  /** `s:<sessionId>` for the client's id, else `t:<first event's occurredAt>`. */
  key: string;
  events: RawEvent[];
  start: number;
  end: number;
  /** end − start: a session of one event lasts 0 (and counts in the mean and median). */
  durationMs: number;
  pageViews: number;
  /** The first and last event's page (page_view or not). */
  entryPage: string;
  exitPage: string;
  /** Exactly one event, and it is a page_view. */
  bounce: boolean;
}

/**
 * A user's sessions. Events carrying a sessionId form one session per (user, sessionId), whatever
 * their gaps (the client decides, as PostHog and Mixpanel's property mode do). The user's other
 * events are split in time order: a new session when the gap to the previous event is
 * ≥ inactivityMs or the event is ≥ maxMs after the session's first (no split at midnight, unlike
 * Mixpanel; from the last event, unlike Umami's visit).
 */
export function sessionsOf(events: readonly RawEvent[], opts: SessionOptions = {}): Session[] {
  const inactivityMs = opts.inactivityMs ?? 30 * MINUTE_MS;
  const maxMs = opts.maxMs ?? DAY_MS;
  const sessions: Session[] = [];
  for (const [userId, own] of groupBy(events, (e) => e.userId)) {
    const sorted = [...own].sort(byTime);
    for (const [sessionId, list] of groupBy(
      sorted.filter((e) => e.sessionId),
      (e) => e.sessionId!,
    ))
      sessions.push(session(userId, `s:${sessionId}`, list));
    let current: RawEvent[] = [];
    for (const e of sorted.filter((x) => !x.sessionId)) {
      const first = current[0];
      const last = current.at(-1);
      if (
        first &&
        last &&
        (e.occurredAt - last.occurredAt >= inactivityMs || e.occurredAt - first.occurredAt >= maxMs)
      ) {
        sessions.push(session(userId, `t:${first.occurredAt}`, current));
        current = [];
      }
      current.push(e);
    }
    if (current.length > 0) sessions.push(session(userId, `t:${current[0]!.occurredAt}`, current));
  }
  return sessions.sort((a, b) => a.start - b.start || (a.userId < b.userId ? -1 : 1));
}

function session(userId: string, key: string, events: RawEvent[]): Session {
  const first = events[0]!;
  const last = events.at(-1)!;
  const pageViews = events.filter((e) => e.action === 'page_view').length;
  return {
    userId,
    key,
    events,
    start: first.occurredAt,
    end: last.occurredAt,
    durationMs: last.occurredAt - first.occurredAt,
    pageViews,
    entryPage: first.page,
    exitPage: last.page,
    bounce: events.length === 1 && first.action === 'page_view',
  };
}

/** The figures GET /api/sessions/stats answers (every entry and exit page here, not only the top). */
export type SessionStats = SessionStatsResult;

/**
 * Statistics of the sessions that start in [from, to) and hold at least one event passing `matches`
 * (role, page or user filters select sessions, they do not cut them). Exit rate of a page: sessions
 * that ended on it ÷ those sessions that included it (any event on it), so at most 1; a page-view
 * denominator (Plausible's) exceeds 1 when sessions end on a click of a page they did not view.
 */
export function sessionStats(
  sessions: readonly Session[],
  opts: { from?: number; to?: number; matches?: (e: RawEvent) => boolean } = {},
): SessionStats {
  const chosen = sessions.filter(
    (s) =>
      (opts.from === undefined || s.start >= opts.from) &&
      (opts.to === undefined || s.start < opts.to) &&
      (!opts.matches || s.events.some(opts.matches)),
  );
  const n = chosen.length;
  const count = (key: (s: Session) => string) =>
    [...groupBy(chosen, key)].map(([page, list]) => ({ page, sessions: list.length }));
  const order = (a: { page: string; sessions: number }, b: { page: string; sessions: number }) =>
    b.sessions - a.sessions || (a.page < b.page ? -1 : 1);
  const visits = new Map<string, number>();
  for (const s of chosen)
    for (const page of new Set(s.events.map((e) => e.page))) visits.set(page, (visits.get(page) ?? 0) + 1);
  const durations = chosen.map((s) => s.durationMs);
  return {
    sessions: n,
    bounceRate: n === 0 ? 0 : chosen.filter((s) => s.bounce).length / n,
    meanDurationMs: n === 0 ? 0 : durations.reduce((a, b) => a + b, 0) / n,
    medianDurationMs: percentileDisc(durations, 0.5),
    pagesPerSession: n === 0 ? 0 : chosen.reduce((a, s) => a + s.pageViews, 0) / n,
    entryPages: count((s) => s.entryPage).sort(order),
    exitPages: count((s) => s.exitPage)
      .sort(order)
      .map((x) => {
        const sessionsWithPage = visits.get(x.page)!;
        return { ...x, sessionsWithPage, exitRate: x.sessions / sessionsWithPage };
      }),
  };
}
