import { ensureDatabase, migrate, pg } from '@tracker/db';
import { createKafka } from '@tracker/kafka';
import { databaseUrl, stackConfig, templateDatabaseName } from './stack.js';

/** Serialises template creation between concurrent global setups (any key of our own). */
const TEMPLATE_LOCK = 7_264_011;

/**
 * Vitest global setup for the integration and e2e tiers: checks that the native stack answers
 * (./tracker test starts it) and builds the migrated template database that every test file clones.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  // TRACKER_TEST_STACK=containers: Kafka, the registry and PostgreSQL from testcontainers instead of
  // the native stack; the test files (forked after this) inherit the environment set here.
  let teardown: (() => Promise<void>) | undefined;
  if (stackConfig().TRACKER_TEST_STACK === 'containers') {
    const { startContainerStack } = await import('./containers/testcontainers-stack.js');
    const stack = await startContainerStack();
    Object.assign(process.env, stack.env);
    teardown = stack.stop;
    console.info(`test stack: containers ${JSON.stringify(stack.env)}`);
  }
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
    await prepareTemplate(config.DATABASE_URL);
  } catch (error) {
    problems.push(`PostgreSQL at ${config.DATABASE_URL}: ${(error as Error).message}`);
  }

  if (problems.length > 0) {
    await teardown?.();
    throw new Error(
      `the test stack is not reachable (run the tests with ./tracker test, which starts it):\n  ${problems.join('\n  ')}`,
    );
  }
  return teardown;
}

/**
 * Builds the template once: under an advisory lock, reuses a complete one (IS_TEMPLATE, stamped with
 * the hash of the migrations it ran), else drops a partial or outdated one and migrates a new one.
 * Never drops a complete, current template, so concurrent runs cannot pull it from under each other.
 */
async function prepareTemplate(serverUrl: string): Promise<void> {
  const { name, migrationsHash } = await templateDatabaseName();
  const stamp = `migrations:${migrationsHash}`;
  const admin = new pg.Client({ connectionString: databaseUrl(serverUrl, 'postgres') });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    const { rows } = await admin.query<{ complete: boolean; stamp: string | null }>(
      `SELECT datistemplate AS complete, shobj_description(oid, 'pg_database') AS stamp
         FROM pg_database WHERE datname = $1`,
      [name],
    );
    if (rows[0]?.complete && rows[0].stamp === stamp) return;
    if (rows.length > 0) {
      await admin.query(`ALTER DATABASE "${name}" IS_TEMPLATE false`);
      await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
    }
    const url = databaseUrl(serverUrl, name);
    await ensureDatabase(url);
    await migrate(url);
    await admin.query(`COMMENT ON DATABASE "${name}" IS '${stamp}'`);
    await admin.query(`ALTER DATABASE "${name}" IS_TEMPLATE true`);
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]).catch(() => {});
    await admin.end();
  }
}
