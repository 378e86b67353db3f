// Events built to sit on every edge of the session rules: gaps of 30 min ± 1 ms, chains over 24 h,
// equal instants, client sessionIds with long gaps, a session across midnight in Asia/Kolkata, roles
// changing within a session.
import { seededRandom } from '@tracker/test-utils';
import { interactionRow } from '../aggregates/rows.harness.js';
import type { InteractionRow } from '../aggregates/rows.js';
import type { Session } from '../testing/reports/sessions.js';
import type { SessionRow } from './sessions.js';

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const T0 = Date.UTC(2026, 10, 2, 18, 0); // 23:30 in Asia/Kolkata

const GAPS = [0, 1, 1_000, 10 * MIN, 30 * MIN - 1, 30 * MIN, 30 * MIN + 1, 25 * MIN, 3 * HOUR];

export function sessionEvents(seed = 26, prefix = 'user'): InteractionRow[] {
  const rnd = seededRandom(seed);
  const roles = seededRandom(seed + 1); // a stream of its own: the events stay those of `seed`
  const rows: InteractionRow[] = [];
  for (let u = 0; u < 30; u += 1) {
    let t = T0 + Math.floor(rnd() * 2 * HOUR);
    // Users 0–4 stay active every 25 min for ~2 days (chains cut by the 24 h rule).
    const n = u < 5 ? 120 : 5 + Math.floor(rnd() * 40);
    for (let i = 0; i < n; i += 1) {
      t += u < 5 ? 25 * MIN : GAPS[Math.floor(rnd() * GAPS.length)]!;
      const sessionId = u % 7 === 3 && rnd() < 0.5 ? `client-${u}-${Math.floor(rnd() * 3)}` : null;
      rows.push(
        interactionRow(`${prefix}-${u}`, t, {
          action: rnd() < 0.4 ? 'page_view' : 'click',
          page: `/p/${Math.floor(rnd() * 4)}`,
          sessionId,
          role: roles() < 0.3 ? 'USER' : 'GUEST',
        }),
      );
    }
  }
  // One-event sessions: a lone page view (a bounce) and a lone click (not one).
  const lone = prefix === 'user' ? 'lone' : `${prefix}-lone`;
  rows.push(interactionRow(`${lone}-view`, T0, { action: 'page_view', page: '/landing' }));
  rows.push(interactionRow(`${lone}-click`, T0, { action: 'click', page: '/landing' }));
  return rows;
}

/** A reference session as the SQL (sessionsOfUsers, the sessions table) reports it. */
export function asSessionRow(s: Session): SessionRow {
  return {
    userId: s.userId,
    key: s.key,
    start: s.start,
    end: s.end,
    events: s.events.length,
    pageViews: s.pageViews,
    entryPage: s.entryPage,
    exitPage: s.exitPage,
    bounce: s.bounce,
  };
}
