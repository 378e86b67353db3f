import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from './reconcile.js';
import { interactionRow } from './rows.harness.js';
import type { IdentifyRow, InteractionRow } from './rows.js';
import { storeIdentifies, storeInteractions } from './store.js';

// storeInteractions sends its columns as array literals it writes itself (pg-array.ts) and times as
// epoch milliseconds: what comes back from the table must be exactly what went in.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('store_roundtrip');
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

const tricky = ['say "hi"', 'c:\\dir\\', '{a,b}', 'NULL', '', ' padded ', 'é 🙂 שלום', "it's", 'tab\there'];

describe('storeInteractions round trip', () => {
  it('stores every text, JSON, null, boolean and millisecond exactly as given', async () => {
    const rows: InteractionRow[] = tricky.map((s, i) => ({
      eventId: randomUUID(),
      userId: `user ${s}`,
      role: (['ADMIN', 'USER', 'GUEST'] as const)[i % 3]!,
      action: `act ${s}`,
      page: `/p/${s}`,
      occurredAt: Date.UTC(2026, 0, 1) + i * 1001 + 7,
      receivedAt: Date.UTC(2026, 0, 1) + i * 1001 + 999,
      sessionId: i % 2 === 0 ? null : `s ${s}`,
      properties: { text: s, n: i + 0.5, flag: i % 2 === 0, [`key ${s}`]: 'v' },
      userAgent: i % 3 === 0 ? null : `UA ${s}`,
      isBot: i % 2 === 1,
      partition: i,
      offset: String(9_007_199_254_740_993n + BigInt(i)),
    }));
    const out = await db.prisma.$transaction((tx) => storeInteractions(tx, rows));
    expect(out.inserted).toBe(rows.length);
    expect(out.newest?.getTime()).toBe(Math.max(...rows.map((r) => r.occurredAt)));
    const { rows: stored } = await db.pool.query(
      `SELECT event_id, user_id, role, action, page, occurred_at, received_at, session_id, properties, user_agent,
              is_bot, kafka_partition, kafka_offset::text FROM interactions`,
    );
    const byId = new Map(stored.map((r) => [r.event_id as string, r]));
    for (const r of rows) {
      const s = byId.get(r.eventId);
      expect(s, r.eventId).toBeDefined();
      expect({
        userId: s.user_id,
        role: s.role,
        action: s.action,
        page: s.page,
        occurredAt: (s.occurred_at as Date).getTime(),
        receivedAt: (s.received_at as Date).getTime(),
        sessionId: s.session_id,
        properties: s.properties,
        userAgent: s.user_agent,
        isBot: s.is_bot,
        partition: s.kafka_partition,
        offset: s.kafka_offset,
      }).toEqual({
        userId: r.userId,
        role: r.role,
        action: r.action,
        page: r.page,
        occurredAt: r.occurredAt,
        receivedAt: r.receivedAt,
        sessionId: r.sessionId,
        properties: r.properties,
        userAgent: r.userAgent,
        isBot: r.isBot,
        partition: r.partition,
        offset: r.offset,
      });
    }
  });
});

describe('rows sent without a role (roleUnset)', () => {
  const at = Date.UTC(2026, 2, 1);
  const track = (userId: string, i: number, extra: Partial<InteractionRow> = {}): InteractionRow =>
    interactionRow(userId, at + i * 1000, { offset: String(i), ...extra });
  const identify = (userId: string, i: number, extra: Partial<IdentifyRow> = {}): IdentifyRow => ({
    eventId: randomUUID(),
    userId,
    role: 'GUEST',
    traits: { plan: 'pro' },
    occurredAt: at + i * 1000,
    receivedAt: at + i * 1000,
    partition: 0,
    offset: String(i),
    ...extra,
  });
  const roleOf = async (table: 'users' | 'interactions' | 'identifies', userId: string) =>
    (
      await db.pool.query<{ role: string }>(
        `SELECT role FROM ${table} WHERE user_id = $1 ORDER BY ${table === 'users' ? 'role' : 'occurred_at DESC'} LIMIT 1`,
        [userId],
      )
    ).rows[0]?.role;

  it('take the role the user has (GUEST for a new user), and a traits-only identify keeps it', async () => {
    await storeIdentifies(db.prisma, [identify('boss', 1, { role: 'ADMIN' })]);
    await db.prisma.$transaction((tx) =>
      storeInteractions(tx, [track('boss', 2, { roleUnset: true }), track('newbie', 3, { roleUnset: true })]),
    );
    expect(await roleOf('interactions', 'boss')).toBe('ADMIN');
    expect(await roleOf('users', 'boss')).toBe('ADMIN');
    expect(await roleOf('interactions', 'newbie')).toBe('GUEST');
    await storeIdentifies(db.prisma, [identify('boss', 4, { roleUnset: true })]);
    expect(await roleOf('identifies', 'boss')).toBe('ADMIN');
    expect(await roleOf('users', 'boss')).toBe('ADMIN');
    // A role given explicitly still wins, GUEST included.
    await db.prisma.$transaction((tx) => storeInteractions(tx, [track('boss', 5)]));
    expect(await roleOf('users', 'boss')).toBe('GUEST');
    // What was stored is what the raw rows say: the aggregates equal a recomputation.
    expect((await reconcile(db.pool)).totalDifferences).toBe(0);
  });
});
