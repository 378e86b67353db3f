import { createHash } from 'node:crypto';
import { CommonEnv, loadConfig, Type } from '@tracker/config';
import { readMigrations } from '@tracker/db';

/** Where the tests find the native stack (the same env vars and defaults as the services). */
export const TestStackSchema = Type.Object({
  DATABASE_URL: CommonEnv.DATABASE_URL,
  KAFKA_BROKERS: CommonEnv.KAFKA_BROKERS,
  KAFKA_CLIENT_ID: Type.String({ default: 'tracker-test' }),
  SCHEMA_REGISTRY_URL: CommonEnv.SCHEMA_REGISTRY_URL,
  /** `native` (./tracker's processes) or `containers` (testcontainers starts Kafka, registry, PostgreSQL). */
  TRACKER_TEST_STACK: Type.Union([Type.Literal('native'), Type.Literal('containers')], { default: 'native' }),
  /** Unset (the default): a template per set of migrations, shared by concurrent runs. */
  TRACKER_TEST_TEMPLATE_DB: Type.Optional(Type.String({ minLength: 1 })),
});

export function stackConfig() {
  return loadConfig(TestStackSchema);
}

/** The same server URL with another database name. */
export function databaseUrl(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * The migrated template database test files clone. Named after a hash of the migrations, so runs
 * with the same migrations (vitest projects, several checkouts) share one and never drop it from
 * under each other, and a changed migration gets a fresh one.
 */
export async function templateDatabaseName(): Promise<{ name: string; migrationsHash: string }> {
  const { TRACKER_TEST_TEMPLATE_DB } = stackConfig();
  const migrations = await readMigrations();
  const migrationsHash = createHash('sha256')
    .update(migrations.map((m) => `${m.name}:${m.checksum}`).join('\n'))
    .digest('hex')
    .slice(0, 12);
  return { name: TRACKER_TEST_TEMPLATE_DB ?? `tracker_test_tpl_${migrationsHash}`, migrationsHash };
}
