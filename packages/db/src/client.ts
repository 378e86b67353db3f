import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { Prisma, PrismaClient } from './generated/prisma/client.js';

export type { Role as DbRole } from './generated/prisma/enums.js';
export { Prisma, PrismaClient };

// BIGINT (int8) columns read through node-postgres directly (snapshot, export cursor) come back as
// numbers; counts here stay far below 2^53. Prisma parses its own results (int8 → bigint).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

/** Prisma Client or one of its interactive transactions: what set-based SQL through Prisma runs on. */
export type PrismaSql = Pick<Prisma.TransactionClient, '$queryRaw' | '$executeRaw'>;

/** What the services use to reach PostgreSQL: Prisma Client, over the node-postgres pool it shares. */
export interface Database {
  readonly prisma: PrismaClient;
  /** The pool under Prisma, for the few paths that need a connection of their own (own-connection.ts). */
  readonly pool: pg.Pool;
}

/** Prisma Client (Rust-free runtime, @prisma/adapter-pg) over `pool`; $disconnect leaves the pool open. */
export function openDatabase(pool: pg.Pool): Database {
  return { prisma: new PrismaClient({ adapter: new PrismaPg(pool) }), pool };
}

/** Closes Prisma Client and then the pool under it. */
export async function closeDatabase(db: Database): Promise<void> {
  await db.prisma.$disconnect();
  await db.pool.end();
}

/** A Prisma client with a pool of its own (scripts and tests that need nothing else). */
export function createPrisma(url: string, poolSize = 10, applicationName = 'tracker'): PrismaClient {
  return new PrismaClient({
    adapter: new PrismaPg(createPool(url, poolSize, applicationName), { disposeExternalPool: true }),
  });
}

/**
 * A node-postgres pool for Prisma and the own-connection paths, its sessions in UTC. JIT compilation
 * is off for its sessions: the planner overestimates the many small index range scans of the statistics queries,
 * and compiling them took longer than running them. `settings` adds other session settings (e.g.
 * work_mem); `idleTimeoutMillis`: how long an unused connection is kept (node-postgres' default:
 * 10 s); `connectionTimeoutMillis`: how long a caller waits for a connection (node-postgres: forever).
 */
export function createPool(
  url: string,
  max = 10,
  applicationName = 'tracker',
  settings: Record<string, string> = {},
  idleTimeoutMillis = 10_000,
  connectionTimeoutMillis = 10_000,
): pg.Pool {
  // NOTE: TimeZone is pinned to UTC: @prisma/adapter-pg writes a Date without its offset and reads a
  // timestamptz's clock time as UTC (prisma/orm#26786), so any other session time zone shifts them.
  const options = Object.entries({ jit: 'off', ...settings, TimeZone: 'UTC' })
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  return new pg.Pool({
    connectionString: url,
    max,
    application_name: applicationName,
    options,
    idleTimeoutMillis,
    connectionTimeoutMillis,
  });
}

export { pg };
