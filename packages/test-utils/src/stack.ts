import { CommonEnv, loadConfig, Type } from '@tracker/config';

/** Where the tests find the native stack (the same env vars and defaults as the services). */
export const TestStackSchema = Type.Object({
  DATABASE_URL: CommonEnv.DATABASE_URL,
  KAFKA_BROKERS: CommonEnv.KAFKA_BROKERS,
  KAFKA_CLIENT_ID: Type.String({ default: 'tracker-test' }),
  SCHEMA_REGISTRY_URL: CommonEnv.SCHEMA_REGISTRY_URL,
  TRACKER_TEST_TEMPLATE_DB: Type.String({ default: 'tracker_test_template' }),
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
