import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_HIT_BATCH_RETENTION_HOURS, recordApiHits, totalApiHits } from './api-hits.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('api_hits');
});
afterAll(async () => db?.drop());

const ids = async () =>
  (await db.pool.query<{ id: string }>('SELECT batch_id AS id FROM api_hit_batches')).rows.map((r) => r.id);

describe('recordApiHits', () => {
  it('counts a delta once, and prunes dedupe ids past their retention as it goes', async () => {
    // 1500 ids recorded two days ago, 10 an hour ago.
    await db.pool.query(
      `INSERT INTO api_hit_batches (batch_id, service, hits, recorded_at)
       SELECT gen_random_uuid(), 'ingest', 1, now() - make_interval(hours => $1 * 2)
         FROM generate_series(1, 1500)`,
      [API_HIT_BATCH_RETENTION_HOURS],
    );
    await db.pool.query(
      `INSERT INTO api_hit_batches (batch_id, service, hits, recorded_at)
       SELECT gen_random_uuid(), 'ingest', 1, now() - interval '1 hour' FROM generate_series(1, 10)`,
    );
    const delta = { batchId: randomUUID(), service: 'query', hits: 7 };
    expect(await recordApiHits(db.prisma, [delta])).toBe(7);
    // At most 1000 expired ids per call: 500 are left for the next one.
    expect((await ids()).length).toBe(500 + 10 + 1);
    expect(await recordApiHits(db.prisma, [delta])).toBe(0); // a redelivery is not counted again
    expect(await ids()).toHaveLength(10 + 1);
    expect(await ids()).toContain(delta.batchId);
    expect(await totalApiHits(db.pool)).toBe(7);
  });
});
