// The sessions table on the real database: kept batch by batch (events in any order, redelivered)
// it equals the reference's sessions and reconcile's recount; reconcile sees a damaged row and
// rebuild repairs it; sessionStats over it equals the reference's statistics under every filter.
import { createTestDatabase, seededRandom, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { asSessionRow, HOUR, MIN, sessionEvents, T0 } from '../reports/session-events.harness.js';
import { type SessionStatsQuery, sessionStats } from '../reports/session-stats.js';
import {
  DEFAULT_SESSION_RULES,
  type SessionColumns,
  type SessionRow,
  sessionRowOf,
  sessionRulesOf,
} from '../reports/sessions.js';
import { type RawEvent, rawEventOf } from '../testing/reports/events.js';
import { sessionStats as referenceStats, sessionsOf } from '../testing/reports/sessions.js';
import { rebuildAggregates } from './rebuild.js';
import { reconcile } from './reconcile.js';
import { interactionRow } from './rows.harness.js';
import type { InteractionRow } from './rows.js';
import { fillSessionDays, sessionDayDifferencesSql } from './session-days.js';
import { fillSessions, sessionDifferencesSql } from './sessions.js';
import { storeInteractions } from './store.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sessions_table');
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

async function storedSessions(): Promise<SessionRow[]> {
  const { rows } = await db.pool.query<SessionColumns>(
    'SELECT * FROM sessions ORDER BY user_id, session_key',
  );
  return rows.map(sessionRowOf);
}

/** Sessions in the table that differ from a recount of the raw rows stored so far. */
async function differingSessions(): Promise<number> {
  const sql = sessionDifferencesSql(DEFAULT_SESSION_RULES, 1);
  const { rows } = await db.pool.query<{ total: number }>(sql.text, sql.values);
  return rows[0]?.total ?? 0;
}

/** Rows of the per-day tables that differ from a recount of the sessions table. */
async function differingDays(): Promise<number> {
  const { rows } = await db.pool.query<{ totals: Record<string, number> }>(sessionDayDifferencesSql(1));
  return Object.values(rows[0]?.totals ?? {}).reduce((a, b) => a + b, 0);
}

const byKey = (a: SessionRow, b: SessionRow) =>
  a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;

/** The rows shuffled and cut into batches of 1 to 40, some sent twice (redeliveries). */
function batchesOf(rows: InteractionRow[], seed: number): InteractionRow[][] {
  const rnd = seededRandom(seed);
  const shuffled = [...rows];
  for (let i = shuffled.length - 1; i > 0; i -= 1) {
    const j = Math.floor(rnd() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const batches: InteractionRow[][] = [];
  for (let i = 0; i < shuffled.length; ) {
    const n = 1 + Math.floor(rnd() * 40);
    batches.push(shuffled.slice(i, i + n));
    i += n;
  }
  for (const b of batches.slice(0, 5)) batches.push(b);
  return batches;
}

describe('the sessions table', () => {
  const rows = sessionEvents();
  const raw: RawEvent[] = rows.map(rawEventOf);
  const reference = sessionsOf(raw);

  it('kept batch by batch, in any order and redelivered, equals the reference and the recount', async () => {
    for (const [i, batch] of batchesOf(rows, 7).entries()) {
      await db.prisma.$transaction((tx) => storeInteractions(tx, batch));
      // Right after every batch, not only in the end: a later batch's recompute could hide an error.
      expect(await differingSessions(), `after batch ${i}`).toBe(0);
      expect(await differingDays(), `per-day tables after batch ${i}`).toBe(0);
    }
    expect((await storedSessions()).sort(byKey)).toEqual(reference.map(asSessionRow).sort(byKey));
    const result = await reconcile(db.pool);
    expect(result.tables.find((t) => t.table === 'sessions')).toEqual({
      table: 'sessions',
      rows: reference.length,
      differences: 0,
    });
    expect(result.totalDifferences).toBe(0);
    // The data reaches what the table must get right: chains over the cap, client ids, merges.
    expect(reference.filter((s) => s.durationMs >= 23 * HOUR).length).toBeGreaterThanOrEqual(5);
    expect(reference.some((s) => s.key.startsWith('s:'))).toBe(true);
  }, 120_000);

  it('kept batch by batch in time order (live traffic) extends sessions in place, equal to the reference', async () => {
    const live = sessionEvents(27, 'live').sort((a, b) => a.occurredAt - b.occurredAt);
    const done = { appended: 0, recomputed: 0 };
    const rnd = seededRandom(3);
    onTestFinished(async () => {
      await db.pool.query(`DELETE FROM interactions WHERE user_id LIKE 'live-%'`);
      await db.pool.query(`DELETE FROM interaction_ids WHERE event_id = ANY($1::uuid[])`, [
        live.map((r) => r.eventId),
      ]);
      await rebuildAggregates(db.pool);
    });
    for (let i = 0; i < live.length; ) {
      const n = 1 + Math.floor(rnd() * 30);
      const batch = live.slice(i, i + n);
      i += n;
      const r = await db.prisma.$transaction((tx) => storeInteractions(tx, batch));
      expect(await differingSessions(), `after the batch ending at ${i}`).toBe(0);
      expect(await differingDays(), `per-day tables after the batch ending at ${i}`).toBe(0);
      done.appended += r.sessions!.appended;
      done.recomputed += r.sessions!.recomputed;
    }
    const liveUsers = new Set(live.map((r) => r.userId));
    const stored = (await storedSessions()).filter((s) => liveUsers.has(s.userId));
    expect(stored.sort(byKey)).toEqual(sessionsOf(live.map(rawEventOf)).map(asSessionRow).sort(byKey));
    // Most batches extend the latest session in place; new sessions, cuts and client ids recompute.
    expect(done.appended).toBeGreaterThan(done.recomputed);
    expect(done.recomputed).toBeGreaterThan(0);
  }, 120_000);

  it('a batch with a late event and a newer one recomputes the session', async () => {
    const at = (min: number) => T0 + 100 * HOUR + min * MIN;
    const late = (sessionId: string | null) => [
      [interactionRow('late', at(10), { sessionId }), interactionRow('late', at(20), { sessionId })],
      [
        interactionRow('late', at(5), { sessionId, page: '/first' }),
        interactionRow('late', at(30), { sessionId }),
      ],
    ];
    onTestFinished(async () => {
      await db.pool.query(`DELETE FROM interactions WHERE user_id = 'late'`);
      await rebuildAggregates(db.pool);
    });
    for (const sessionId of ['tab-1', null]) {
      for (const batch of late(sessionId)) await db.prisma.$transaction((tx) => storeInteractions(tx, batch));
      const { rows } = await db.pool.query(
        `SELECT started_at, ended_at, events, entry_page FROM sessions WHERE user_id = 'late' AND session_id IS NOT DISTINCT FROM $1`,
        [sessionId],
      );
      expect(rows).toEqual([
        { started_at: new Date(at(5)), ended_at: new Date(at(30)), events: 4, entry_page: '/first' },
      ]);
      expect(await differingDays()).toBe(0);
    }
  });

  it('counts a session that starts on a UTC midnight once, in the whole day it starts', async () => {
    const midnight = Date.UTC(2026, 10, 4);
    const extra = [0, 5, 9].map((m, i) =>
      interactionRow('midnight', midnight + m * MIN, { action: i === 0 ? 'page_view' : 'click' }),
    );
    onTestFinished(async () => {
      await db.pool.query(`DELETE FROM interactions WHERE user_id = 'midnight'`);
      await rebuildAggregates(db.pool);
    });
    await db.prisma.$transaction((tx) => storeInteractions(tx, extra));
    const all = sessionsOf([...raw, ...extra.map(rawEventOf)]);
    for (const [from, to] of [
      [midnight - 30 * MIN, midnight + 24 * HOUR + MIN],
      [midnight, midnight + 12 * HOUR],
      [midnight - 24 * HOUR, midnight],
    ] as const) {
      const want = referenceStats(all, { from, to });
      expect(await sessionStats(db.pool, { from, to, top: 3 }), `[${from}, ${to})`).toEqual({
        ...want,
        entryPages: want.entryPages.slice(0, 3),
        exitPages: want.exitPages.slice(0, 3),
      });
    }
  });

  it('refuses to keep sessions outside a transaction, where the per-day changes would be lost', async () => {
    onTestFinished(async () => {
      await db.pool.query(`DELETE FROM interactions WHERE user_id = 'loose'`);
      await rebuildAggregates(db.pool);
    });
    await expect(storeInteractions(db.prisma, [interactionRow('loose', T0 + 200 * HOUR)])).rejects.toThrow(
      /must run inside one transaction/,
    );
  });

  it('reconcile reports a damaged or missing per-day row and rebuild repairs both', async () => {
    await db.pool.query(
      `UPDATE session_days SET bounces = bounces + 1 WHERE (day, role) = (SELECT day, role FROM session_days WHERE role = 'USER' ORDER BY day LIMIT 1)`,
    );
    const { rows: gone } = await db.pool.query<{ day: string; page: string }>(
      `DELETE FROM session_day_pages WHERE ctid = (SELECT ctid FROM session_day_pages WHERE role = '' ORDER BY day, page LIMIT 1)
       RETURNING day::text AS day, page`,
    );
    const damaged = await reconcile(db.pool);
    expect(
      damaged.tables.filter((t) => t.table.startsWith('session_d')).map((t) => [t.table, t.differences]),
    ).toEqual([
      ['session_days', 1],
      ['session_day_pages', 1],
      ['session_day_durations', 0],
    ]);
    expect(damaged.differences).toContainEqual(
      expect.objectContaining({
        table: 'session_day_pages',
        key: { day: gone[0]!.day, role: '', page: gone[0]!.page },
        stored: null,
      }),
    );
    expect(damaged.totalDifferences).toBe(2);
    await rebuildAggregates(db.pool);
    expect((await reconcile(db.pool)).totalDifferences).toBe(0);
  }, 120_000);

  it('reconcile reports a damaged or missing session and rebuild repairs both', async () => {
    const one = reference.find((s) => s.key.startsWith('t:'))!;
    await db.pool.query(
      `UPDATE sessions SET exit_page = '/elsewhere' WHERE user_id = $1 AND session_key = $2`,
      [one.userId, one.key],
    );
    await db.pool.query(
      `DELETE FROM sessions WHERE session_key LIKE 's:%' AND ctid IN (SELECT ctid FROM sessions WHERE session_key LIKE 's:%' LIMIT 1)`,
    );
    const damaged = await reconcile(db.pool);
    const found = damaged.differences.filter((d) => d.table === 'sessions');
    expect(found).toHaveLength(2);
    expect(found).toContainEqual({
      table: 'sessions',
      key: { user_id: one.userId, session_key: one.key },
      column: '*',
      stored: 'row',
      expected: 'row',
    });
    expect(found.some((d) => d.stored === null && d.expected === 'row')).toBe(true);
    const counts = await rebuildAggregates(db.pool);
    expect(counts['sessions']).toBe(reference.length);
    expect((await reconcile(db.pool)).totalDifferences).toBe(0);
    expect((await storedSessions()).sort(byKey)).toEqual(reference.map(asSessionRow).sort(byKey));
  }, 120_000);

  it('is filled with the gap it is given (TRACKER_SESSION_GAP_MINUTES)', async () => {
    const client = await db.pool.connect();
    try {
      await fillSessions(client, sessionRulesOf(10));
      await fillSessionDays(client);
    } finally {
      client.release();
    }
    const tenMinutes = sessionsOf(raw, { inactivityMs: 10 * MIN });
    expect(tenMinutes.length).toBeGreaterThan(reference.length);
    expect((await storedSessions()).sort(byKey)).toEqual(tenMinutes.map(asSessionRow).sort(byKey));
    expect((await reconcile(db.pool, { sessionRules: sessionRulesOf(10) })).totalDifferences).toBe(0);
    expect(
      (await reconcile(db.pool)).tables.find((t) => t.table === 'sessions')?.differences,
    ).toBeGreaterThan(0);
    await rebuildAggregates(db.pool);
  }, 120_000);

  const cases: { name: string; q: Omit<SessionStatsQuery, 'top'>; matches?: (e: RawEvent) => boolean }[] = [
    { name: 'every session', q: {} },
    {
      name: 'started in a range (across midnight in Asia/Kolkata)',
      q: { from: T0 + HOUR, to: T0 + 30 * HOUR },
    },
    { name: 'from a time on', q: { from: T0 + 30 * HOUR + 17 * MIN } },
    { name: 'up to a time', q: { to: T0 + 40 * HOUR + 1 } },
    { name: 'inside one UTC day', q: { from: T0 + 7 * HOUR, to: T0 + 12 * HOUR } },
    { name: 'whole UTC days', q: { from: Date.UTC(2026, 10, 3), to: Date.UTC(2026, 10, 5) } },
    {
      name: 'a role in a range',
      q: { role: 'USER', from: T0 + 7 * HOUR, to: T0 + 53 * HOUR },
      matches: (e) => e.role === 'USER',
    },
    { name: 'one user', q: { userId: 'user-3' }, matches: (e) => e.userId === 'user-3' },
    { name: 'a role', q: { role: 'USER' }, matches: (e) => e.role === 'USER' },
    {
      name: 'an exact page',
      q: { page: { value: '/p/1', prefix: false } },
      matches: (e) => e.page === '/p/1',
    },
    {
      name: 'a page prefix',
      q: { page: { value: '/p/', prefix: true } },
      matches: (e) => e.page.startsWith('/p/'),
    },
    {
      name: 'a page prefix in a range',
      q: { page: { value: '/p/2', prefix: true }, from: T0 + 7 * HOUR, to: T0 + 53 * HOUR },
      matches: (e) => e.page.startsWith('/p/2'),
    },
    {
      name: 'an exact page and a role, on the same event',
      q: { page: { value: '/p/1', prefix: false }, role: 'USER' },
      matches: (e) => e.page === '/p/1' && e.role === 'USER',
    },
    {
      name: 'a page prefix and a role on the same event',
      q: { page: { value: '/p/', prefix: true }, role: 'USER', from: T0, to: T0 + 48 * HOUR },
      matches: (e) => e.page.startsWith('/p/') && e.role === 'USER',
    },
    { name: 'nothing matches', q: { userId: 'nobody' }, matches: (e) => e.userId === 'nobody' },
  ];
  for (const c of cases) {
    it(`sessionStats equals the reference: ${c.name}`, async () => {
      const got = await sessionStats(db.pool, { ...c.q, top: 3 });
      const want = referenceStats(reference, {
        ...(c.q.from !== undefined ? { from: c.q.from } : {}),
        ...(c.q.to !== undefined ? { to: c.q.to } : {}),
        ...(c.matches ? { matches: c.matches } : {}),
      });
      expect(got).toEqual({
        ...want,
        entryPages: want.entryPages.slice(0, 3),
        exitPages: want.exitPages.slice(0, 3),
      });
      if (c.name !== 'nothing matches') expect(got.sessions).toBeGreaterThan(0);
    });
  }
});
