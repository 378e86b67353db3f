import type pg from 'pg';
import type { Database } from './client.js';

/**
 * A node-postgres connection of its own, from the pool Prisma Client uses, for the two reads that
 * Prisma cannot do: an export streamed through a server-side cursor inside one REPEATABLE READ
 * transaction (rows are not held in memory), and /api/stats, whose statements run on several
 * connections that share one snapshot (pg_export_snapshot, stats/snapshot.ts). The caller releases it.
 */
export function ownConnection(db: Database): Promise<pg.PoolClient> {
  return db.pool.connect();
}

/** The pool itself, for computeStats' snapshot, which takes connections only when one is free at once. */
export function ownConnections(db: Database): pg.Pool {
  return db.pool;
}
