// sessionsOfUsers (SQL over the real partitioned interactions table) against the definitions' oracle
// on events built to sit on every edge: gaps of 30 min ± 1 ms, chains over 24 h, equal instants,
// client sessionIds with long gaps, a session across midnight in Asia/Kolkata.
import { createTestDatabase, seededRandom, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interactionRow } from '../aggregates/rows.harness.js';
import type { InteractionRow } from '../aggregates/rows.js';
import { storeInteractions } from '../aggregates/store.js';
import { rawEventOf } from '../testing/reports/events.js';
import { sessionsOf } from '../testing/reports/sessions.js';
import { type SessionRow, sessionsOfUsers } from './sessions.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 10, 2, 18, 0); // 23:30 in Asia/Kolkata

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sessions');
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

const GAPS = [0, 1, 1_000, 10 * MIN, 30 * MIN - 1, 30 * MIN, 30 * MIN + 1, 25 * MIN, 3 * HOUR];

function events(): InteractionRow[] {
  const rnd = seededRandom(26);
  const rows: InteractionRow[] = [];
  for (let u = 0; u < 30; u += 1) {
    let t = T0 + Math.floor(rnd() * 2 * HOUR);
    // Users 0–4 stay active every 25 min for ~2 days (chains cut by the 24 h rule).
    const n = u < 5 ? 120 : 5 + Math.floor(rnd() * 40);
    for (let i = 0; i < n; i += 1) {
      t += u < 5 ? 25 * MIN : GAPS[Math.floor(rnd() * GAPS.length)]!;
      const sessionId = u % 7 === 3 && rnd() < 0.5 ? `client-${u}-${Math.floor(rnd() * 3)}` : null;
      rows.push(
        interactionRow(`user-${u}`, t, {
          action: rnd() < 0.4 ? 'page_view' : 'click',
          page: `/p/${Math.floor(rnd() * 4)}`,
          sessionId,
        }),
      );
    }
  }
  // One-event sessions: a lone page view (a bounce) and a lone click (not one).
  rows.push(interactionRow('lone-view', T0, { action: 'page_view', page: '/landing' }));
  rows.push(interactionRow('lone-click', T0, { action: 'click', page: '/landing' }));
  return rows;
}

describe('sessionsOfUsers', () => {
  const rows = events();

  it('equals the oracle on every user, edge and chain', async () => {
    await db.prisma.$transaction((tx) => storeInteractions(tx, rows), { timeout: 60_000 });
    const users = [...new Set(rows.map((r) => r.userId))];
    const fromSql = await sessionsOfUsers(db.pool, {
      userIds: users,
      from: T0 - HOUR,
      to: T0 + 7 * 24 * HOUR,
    });
    const expected: SessionRow[] = sessionsOf(rows.map(rawEventOf)).map((s) => ({
      userId: s.userId,
      key: s.key,
      start: s.start,
      end: s.end,
      events: s.events.length,
      pageViews: s.pageViews,
      entryPage: s.entryPage,
      exitPage: s.exitPage,
      bounce: s.bounce,
    }));
    const order = (a: SessionRow, b: SessionRow) =>
      a.start - b.start || a.userId.localeCompare(b.userId) || a.key.localeCompare(b.key);
    expect(fromSql.sort(order)).toEqual(expected.sort(order));
    // The data reaches the edges it was built for.
    expect(expected.filter((s) => s.end - s.start >= 23 * HOUR).length).toBeGreaterThanOrEqual(5);
    expect(expected.some((s) => s.key.startsWith('s:'))).toBe(true);
    expect(expected.filter((s) => s.bounce).map((s) => s.userId)).toContain('lone-view');
    expect(expected.find((s) => s.userId === 'lone-click')?.bounce).toBe(false);
    expect(expected.length).toBeGreaterThan(60);
  });

  it('reads only the users and the time asked for', async () => {
    const some = await sessionsOfUsers(db.pool, {
      userIds: ['user-7', 'nobody'],
      from: T0 - HOUR,
      to: T0 + 7 * 24 * HOUR,
    });
    expect(new Set(some.map((s) => s.userId))).toEqual(new Set(['user-7']));
    expect(
      await sessionsOfUsers(db.pool, { userIds: ['user-7'], from: T0 - 2 * HOUR, to: T0 - HOUR }),
    ).toEqual([]);
  });
});
