// sessionsOfUsers (SQL over the real partitioned interactions table) against the definitions' oracle
// on events built to sit on every edge: gaps of 30 min ± 1 ms, chains over 24 h, equal instants,
// client sessionIds with long gaps, a session across midnight in Asia/Kolkata.
import { createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeInteractions } from '../aggregates/store.js';
import { rawEventOf } from '../testing/reports/events.js';
import { sessionsOf } from '../testing/reports/sessions.js';
import { asSessionRow, HOUR, sessionEvents, T0 } from './session-events.harness.js';
import { type SessionRow, sessionsOfUsers } from './sessions.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sessions');
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

describe('sessionsOfUsers', () => {
  const rows = sessionEvents();

  it('equals the oracle on every user, edge and chain', async () => {
    await db.prisma.$transaction((tx) => storeInteractions(tx, rows), { timeout: 60_000 });
    const users = [...new Set(rows.map((r) => r.userId))];
    const fromSql = await sessionsOfUsers(db.pool, {
      userIds: users,
      from: T0 - HOUR,
      to: T0 + 7 * 24 * HOUR,
    });
    const expected = sessionsOf(rows.map(rawEventOf)).map(asSessionRow);
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
