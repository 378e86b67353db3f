import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.js';

export type { Prisma } from './generated/prisma/client.js';
export type { Role as DbRole } from './generated/prisma/enums.js';
export { PrismaClient };

// BIGINT (int8) columns come back as strings by default; counts here stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

/** A Prisma client over node-postgres (Rust-free runtime, works offline). */
export function createPrisma(url: string, poolSize = 10): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolSize }) });
}

/**
 * A plain node-postgres pool for the hot paths (set-based writes, COPY, streaming reads). JIT
 * compilation is off for its sessions: the planner overestimates the many small index range scans
 * of the statistics queries, and compiling them (20-50 ms) took longer than running them. `settings`
 * adds other session settings (e.g. work_mem); `idleTimeoutMillis`: how long an unused connection is
 * kept (node-postgres' default: 10 s); `connectionTimeoutMillis`: how long a caller waits for a
 * connection (a new one, or a free one of a busy pool) before an error (node-postgres: forever).
 */
export function createPool(
  url: string,
  max = 10,
  applicationName = 'tracker',
  settings: Record<string, string> = {},
  idleTimeoutMillis = 10_000,
  connectionTimeoutMillis = 10_000,
): pg.Pool {
  const options = Object.entries({ jit: 'off', ...settings })
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
