import { randomBytes } from 'node:crypto';
import { pg } from '@tracker/db';
import { databaseUrl, stackConfig, templateDatabaseName } from './stack.js';

export interface TestDatabase {
  name: string;
  url: string;
  /** A pool on the database, closed by drop(). */
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** A short random suffix for names that must not collide between test files and runs. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/** A fresh, migrated database cloned from the template the global setup built. */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const config = stackConfig();
  const name = uniqueName(`tracker_${prefix}`).toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const admin = new pg.Client({ connectionString: databaseUrl(config.DATABASE_URL, 'postgres') });
  await admin.connect();
  const template = await templateDatabaseName();
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template.name}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(config.DATABASE_URL, name);
  const pool = new pg.Pool({ connectionString: url, max: 5 });
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      const again = new pg.Client({ connectionString: databaseUrl(config.DATABASE_URL, 'postgres') });
      await again.connect();
      try {
        await again.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await again.end();
      }
    },
  };
}
