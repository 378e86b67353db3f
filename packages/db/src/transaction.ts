import type pg from 'pg';

export interface TransactionOptions {
  isolation?: 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';
  readOnly?: boolean;
  /** Session settings for this transaction only (SET LOCAL), e.g. `{ work_mem: '256MB' }`. */
  settings?: Record<string, string>;
}

/**
 * Runs `work` in one transaction on a node-postgres connection: COMMIT when it resolves, ROLLBACK
 * (and the error rethrown) when it throws. Given a pool, a connection is taken for the transaction
 * and given back after; given a connected client, that client is used (e.g. one holding a
 * session-level lock). A connection whose ROLLBACK fails is discarded rather than given back.
 */
export function withTransaction<T>(
  db: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  options?: TransactionOptions,
): Promise<T>;
export function withTransaction<T, C extends pg.ClientBase>(
  db: C,
  work: (client: C) => Promise<T>,
  options?: TransactionOptions,
): Promise<T>;
export async function withTransaction<T>(
  db: pg.Pool | pg.ClientBase,
  work: (client: pg.PoolClient & pg.ClientBase) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const pool = isPool(db) ? db : null;
  const client = pool ? await pool.connect() : (db as pg.ClientBase);
  let broken: Error | undefined;
  try {
    await client.query(beginStatement(options));
    try {
      const entries = Object.entries(options.settings ?? {});
      if (entries.length > 0) {
        await client.query('SELECT set_config(k, v, true) FROM unnest($1::text[], $2::text[]) AS s(k, v)', [
          entries.map(([k]) => k),
          entries.map(([, v]) => v),
        ]);
      }
      const result = await work(client as pg.PoolClient);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    }
  } finally {
    if (pool) (client as pg.PoolClient).release(broken);
  }
}

function beginStatement(options: TransactionOptions): string {
  return [
    'BEGIN',
    ...(options.isolation ? [`ISOLATION LEVEL ${options.isolation}`] : []),
    ...(options.readOnly ? ['READ ONLY'] : []),
  ].join(' ');
}

const isPool = (db: pg.Pool | pg.ClientBase): db is pg.Pool => 'totalCount' in db;
