import { ensureDatabase, migrate, pg } from '@tracker/db';
import { createKafka } from '@tracker/kafka';
import { databaseUrl, stackConfig } from './stack.js';

/**
 * Vitest global setup for the integration and e2e tiers: checks that the native stack answers
 * (./tracker test starts it) and builds the migrated template database that every test file clones.
 */
export default async function setup(): Promise<void> {
  const config = stackConfig();
  const problems: string[] = [];

  const admin = createKafka(config, undefined, { retry: { retries: 2 } }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } catch (error) {
    problems.push(`Kafka at ${config.KAFKA_BROKERS.join(',')}: ${(error as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => {});
  }

  try {
    const res = await fetch(`${config.SCHEMA_REGISTRY_URL}/subjects`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) problems.push(`schema registry at ${config.SCHEMA_REGISTRY_URL}: HTTP ${res.status}`);
  } catch (error) {
    problems.push(`schema registry at ${config.SCHEMA_REGISTRY_URL}: ${(error as Error).message}`);
  }

  try {
    const template = config.TRACKER_TEST_TEMPLATE_DB;
    const admin = new pg.Client({ connectionString: databaseUrl(config.DATABASE_URL, 'postgres') });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
    const url = databaseUrl(config.DATABASE_URL, template);
    await ensureDatabase(url);
    await migrate(url);
  } catch (error) {
    problems.push(`PostgreSQL at ${config.DATABASE_URL}: ${(error as Error).message}`);
  }

  if (problems.length > 0) {
    throw new Error(
      `the test stack is not reachable (run the tests with ./tracker test, which starts it):\n  ${problems.join('\n  ')}`,
    );
  }
}
