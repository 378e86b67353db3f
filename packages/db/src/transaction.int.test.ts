import { createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from './transaction.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('transaction');
  await db.pool.query('CREATE TABLE tx_probe (v int)');
});
afterAll(async () => db?.drop());

const values = async () =>
  (await db.pool.query<{ v: number }>('SELECT v FROM tx_probe ORDER BY v')).rows.map((r) => r.v);

describe('withTransaction', () => {
  it('commits what the work wrote and returns its result', async () => {
    const out = await withTransaction(db.pool, async (client) => {
      await client.query('INSERT INTO tx_probe VALUES (1)');
      return 'done';
    });
    expect(out).toBe('done');
    expect(await values()).toEqual([1]);
  });

  it('rolls back and rethrows when the work throws, and gives the connection back', async () => {
    const failure = new Error('boom');
    await expect(
      withTransaction(db.pool, async (client) => {
        await client.query('INSERT INTO tx_probe VALUES (2)');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await values()).toEqual([1]);
    expect(db.pool.totalCount).toBe(db.pool.idleCount);
  });

  it('applies isolation, read only and SET LOCAL settings to this transaction only', async () => {
    const seen = await withTransaction(
      db.pool,
      async (client) =>
        (
          await client.query<{ iso: string; ro: string; wm: string }>(
            `SELECT current_setting('transaction_isolation') AS iso,
                    current_setting('transaction_read_only') AS ro, current_setting('work_mem') AS wm`,
          )
        ).rows[0],
      { isolation: 'REPEATABLE READ', readOnly: true, settings: { work_mem: '77MB' } },
    );
    expect(seen).toEqual({ iso: 'repeatable read', ro: 'on', wm: '77MB' });
    await expect(
      withTransaction(db.pool, (client) => client.query('INSERT INTO tx_probe VALUES (3)'), {
        readOnly: true,
      }),
    ).rejects.toThrow(/read-only/);
    const client = await db.pool.connect();
    try {
      await withTransaction(client, async (c) => c.query('SELECT 1'), { settings: { work_mem: '77MB' } });
      expect((await client.query('SHOW work_mem')).rows[0].work_mem).not.toBe('77MB');
    } finally {
      client.release();
    }
  });

  it('runs on a connected client as given (the caller keeps it)', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await withTransaction(client, (c) => c.query('INSERT INTO tx_probe VALUES (4)'));
      await expect(
        withTransaction(client, async (c) => {
          await c.query('INSERT INTO tx_probe VALUES (5)');
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await client.end();
    }
    expect(await values()).toEqual([1, 4]);
  });
});
