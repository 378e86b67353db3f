import { createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type PrismaClient } from './client.js';
import { readPipelineStatus, recordLag, STALE_GROUP_MINUTES } from './pipeline-status.js';

let db: TestDatabase;
// Over the test database's pool, from this package's own source (the types of test-utils' copy differ).
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase('stats_pipeline');
  prisma = openDatabase(db.pool).prisma;
});
afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

describe('readPipelineStatus', () => {
  it('leaves out a consumer group not heard from within 10 minutes of the latest one', async () => {
    // A one-off group that stopped with lag 5, then the live processor's group with lag 3.
    await recordLag(prisma, 'gone', 'interactions', [
      { partition: 0, committedOffset: 1, highWatermark: 6, lag: 5 },
    ]);
    expect((await readPipelineStatus(prisma)).totalLag).toBe(5); // alone, it is still shown
    await db.pool.query(
      `UPDATE pipeline_status SET updated_at = now() - interval '${STALE_GROUP_MINUTES + 1} minutes'
        WHERE consumer_group = 'gone'`,
    );
    await recordLag(prisma, 'live', 'interactions', [
      { partition: 0, committedOffset: 7, highWatermark: 10, lag: 3 },
    ]);
    const all = await readPipelineStatus(prisma);
    expect(all.totalLag).toBe(3);
    expect(all.partitions.map((p) => p.consumerGroup)).toEqual(['live']);
    // Named, a group is read whatever its age.
    expect((await readPipelineStatus(prisma, 'gone')).totalLag).toBe(5);
    // Two live groups (a second processor fleet): both count.
    await recordLag(prisma, 'other', 'interactions', [
      { partition: 1, committedOffset: 0, highWatermark: 2, lag: 2 },
    ]);
    expect((await readPipelineStatus(prisma)).totalLag).toBe(5);
  });
});
