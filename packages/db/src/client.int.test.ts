import { createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interactionRow } from './aggregates/rows.harness.js';
import { storeInteractions } from './aggregates/store.js';
import { createPool, type Database, openDatabase } from './client.js';
import { readPipelineStatus, recordBatchProgress } from './pipeline-status.js';

let test: TestDatabase;
let db: Database;

beforeAll(async () => {
  test = await createTestDatabase('client_tz');
  // A server whose default time zone is not UTC (Debian's initdb takes the system's).
  await test.pool.query(`ALTER DATABASE "${test.name}" SET timezone TO 'Asia/Kolkata'`);
  db = openDatabase(createPool(test.url, 2));
});
afterAll(async () => {
  await db?.prisma.$disconnect();
  await db?.pool.end();
  await test?.drop();
});

describe('openDatabase(createPool(...)) on a database whose time zone is not UTC', () => {
  it('reads and writes instants exactly through Prisma Client', async () => {
    const at = Date.parse('2026-01-01T00:00:00.123Z');
    await db.prisma.$transaction((tx) => storeInteractions(tx, [interactionRow('tz-user', at)]));
    const [row] = await db.prisma.interaction.findMany({ where: { userId: 'tz-user' } });
    expect(row?.occurredAt.toISOString()).toBe('2026-01-01T00:00:00.123Z');
    // A Date bound as a parameter is the same instant in SQL.
    const [cmp] = await db.prisma.$queryRaw<{ same: boolean }[]>`
      SELECT ${new Date(at)}::timestamptz = '2026-01-01T00:00:00.123Z'::timestamptz AS same`;
    expect(cmp?.same).toBe(true);
    await db.prisma.$transaction((tx) =>
      recordBatchProgress(tx, {
        consumerGroup: 'g',
        topic: 'interactions',
        partition: 0,
        nextOffset: '1',
        size: 1,
        newestEventAt: new Date(at),
      }),
    );
    const status = await readPipelineStatus(db.prisma);
    expect(status.partitions[0]?.newestEventAt?.toISOString()).toBe('2026-01-01T00:00:00.123Z');
    expect(status.newestEventAt?.toISOString()).toBe('2026-01-01T00:00:00.123Z');
    // What the server itself holds, read without Prisma.
    const { rows } = await db.pool.query<{ t: string }>(
      `SELECT to_char(newest_event_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS t FROM pipeline_status`,
    );
    expect(rows[0]?.t).toBe('2026-01-01T00:00:00.123');
  });
});
