import { ensureInteractionPartitions, type InteractionRow, toInteractionRow } from '@tracker/db';
import { buildInteraction, createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyInteractions } from './copy-binary.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('bench_copy');
});
afterAll(async () => db?.drop());

async function copy(rows: InteractionRow[]): Promise<void> {
  await ensureInteractionPartitions(
    db.prisma,
    rows.map((r) => r.occurredAt),
  );
  const client = await db.pool.connect();
  try {
    await copyInteractions(client, 'interactions', rows);
  } finally {
    client.release();
  }
}

describe('encodeCopyBinary', () => {
  it('writes rows PostgreSQL reads back exactly: uuid, enum, instants to the ms, nulls, jsonb, bigint', async () => {
    const rows = [
      toInteractionRow(
        buildInteraction({
          userId: 'ü-ser 1',
          role: 'ADMIN',
          occurredAt: Date.UTC(1999, 11, 31, 23, 59, 59, 999),
          receivedAt: Date.UTC(2026, 5, 1, 12, 0, 0, 1),
          sessionId: 's-1',
          properties: { plan: 'pro', n: 3, ok: true },
          userAgent: 'Mozilla/5.0',
          isBot: true,
        }),
        7,
        '9007199254740993',
      ),
      toInteractionRow(buildInteraction({ role: 'GUEST', sessionId: null, userAgent: null }), 0, '0'),
    ];
    await copy(rows);
    const { rows: stored } = await db.pool.query(
      `SELECT event_id::text, user_id, role::text, action, page, (extract(epoch FROM occurred_at) * 1000)::bigint::text AS o,
              (extract(epoch FROM received_at) * 1000)::bigint::text AS r, session_id, properties, user_agent, is_bot,
              kafka_partition, kafka_offset::text
         FROM interactions ORDER BY kafka_offset DESC`,
    );
    expect(stored).toEqual(
      rows.map((r) => ({
        event_id: r.eventId,
        user_id: r.userId,
        role: r.role,
        action: r.action,
        page: r.page,
        o: String(r.occurredAt),
        r: String(r.receivedAt),
        session_id: r.sessionId,
        properties: r.properties,
        user_agent: r.userAgent,
        is_bot: r.isBot,
        kafka_partition: r.partition,
        kafka_offset: r.offset,
      })),
    );
  });
});
