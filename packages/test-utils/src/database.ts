import { randomBytes } from 'node:crypto';
import { openDatabase, type PrismaClient, pg } from '@tracker/db';
import { databaseUrl, stackConfig, templateDatabaseName } from './stack.js';

export interface TestDatabase {
  name: string;
  url: string;
  /** A pool on the database, closed by drop(). */
  pool: pg.Pool;
  /** Prisma Client over that pool, as the services reach the database. */
  prisma: PrismaClient;
  drop(): Promise<void>;
}

const prismaByPool = new WeakMap<pg.Pool, PrismaClient>();

/** Prisma Client over `pool` (one per pool, left to the pool's lifetime): store rows as the processor does. */
export function prismaFor(pool: pg.Pool): PrismaClient {
  let prisma = prismaByPool.get(pool);
  if (!prisma) {
    prisma = openDatabase(pool).prisma;
    prismaByPool.set(pool, prisma);
  }
  return prisma;
}

/** A short random suffix for names that must not collide between test files and runs. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/** A fresh, migrated database cloned from the template the global setup built. */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const config = stackConfig();
  const name = uniqueName(`tracker_${prefix}`)
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  const admin = new pg.Client({ connectionString: databaseUrl(config.DATABASE_URL, 'postgres') });
  await admin.connect();
  const template = await templateDatabaseName();
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template.name}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(config.DATABASE_URL, name);
  // UTC sessions, as createPool's (Prisma's adapter needs them to read and write times correctly).
  const pool = new pg.Pool({ connectionString: url, max: 5, options: '-c TimeZone=UTC' });
  const prisma = prismaFor(pool);
  return {
    name,
    url,
    pool,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await pool.end();
      const again = new pg.Client({ connectionString: databaseUrl(config.DATABASE_URL, 'postgres') });
      await again.connect();
      try {
        // NOTE: pool.end() resolves once it has asked its connections to close, not once they have.
        // FORCE would terminate a connection still closing, and its client, no longer the pool's,
        // throws that (57P01) as an uncaught exception into whichever test file runs. So wait (up
        // to 5 s) for the pool's own connections to be gone; FORCE is then only for strays.
        for (let i = 0; i < 100; i += 1) {
          const { rows } = await again.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
            [name],
          );
          if (rows[0]!.n === 0) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await again.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await again.end();
      }
    },
  };
}
