import { spawnSync } from 'node:child_process';
import { freePort } from '../services.js';
import { waitFor } from '../wait.js';

/** The images docker-compose.yml uses (the same variables and defaults), or their local stand-ins. */
function images() {
  const env = process.env;
  return {
    kafka: env['KAFKA_IMAGE'] || 'apache/kafka:4.1.2',
    registry: env['REGISTRY_IMAGE'] || 'apicurio/apicurio-registry:3.3.3',
    postgres: env['POSTGRES_IMAGE'] || 'postgres:16',
  };
}

export interface ContainerStack {
  env: { KAFKA_BROKERS: string; SCHEMA_REGISTRY_URL: string; DATABASE_URL: string };
  stop(): Promise<void>;
}

/**
 * Kafka (KRaft, one node), the Apicurio registry (in memory) and PostgreSQL as containers through
 * testcontainers, on free host ports: the integration tier's stack when TRACKER_TEST_STACK=containers.
 * Ryuk (testcontainers' reaper) is off: its image cannot be pulled everywhere; `stop` removes them.
 */
export async function startContainerStack(): Promise<ContainerStack> {
  process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
  const { GenericContainer, Wait } = await import('testcontainers');
  const image = images();
  const [kafkaPort, registryPort, postgresPort] = [await freePort(), await freePort(), await freePort()];
  const password = 'tracker-tests';
  // Every container of this stack carries the label, so a failed start leaves none behind.
  const label = { 'tracker.test-stack': `${process.pid}-${Date.now()}` };

  const kafka = new GenericContainer(image.kafka)
    .withLabels(label)
    .withEnvironment({
      CLUSTER_ID: 'uUrV2SE1wzGI-GCd3SLHFg',
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@127.0.0.1:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withExposedPorts({ container: 9092, host: kafkaPort })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(180_000);
  const registry = new GenericContainer(image.registry)
    .withLabels(label)
    .withExposedPorts({ container: 8080, host: registryPort })
    .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080).forStatusCode(200))
    .withStartupTimeout(240_000);
  const postgres = new GenericContainer(image.postgres)
    .withLabels(label)
    .withEnvironment({ POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: password, POSTGRES_DB: 'tracker' })
    .withExposedPorts({ container: 5432, host: postgresPort })
    .withWaitStrategy(Wait.forListeningPorts())
    .withStartupTimeout(120_000);

  const started = await Promise.allSettled([kafka.start(), registry.start(), postgres.start()]);
  const containers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.all(containers.map((c) => c.stop({ remove: true, removeVolumes: true }).catch(() => {})));
    // Also those that were created but never started.
    const ids = spawnSync(
      'docker',
      ['ps', '-aq', '--filter', `label=tracker.test-stack=${label['tracker.test-stack']}`],
      {
        encoding: 'utf8',
      },
    ).stdout.trim();
    if (ids) spawnSync('docker', ['rm', '-f', '-v', ...ids.split('\n')]);
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }

  const registryUrl = `http://127.0.0.1:${registryPort}/apis/ccompat/v7`;
  // As ./tracker does for the native registry: subjects default to BACKWARD compatibility.
  await fetch(`${registryUrl}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: 'BACKWARD' }),
  });
  const databaseUrl = `postgresql://postgres:${password}@127.0.0.1:${postgresPort}/tracker`;
  // The official image's first start runs a socket-only server before the real one: wait for SQL over TCP.
  const { default: pg } = await import('pg');
  await waitFor(
    async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      try {
        await client.connect();
        await client.query('SELECT 1');
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => {});
      }
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'PostgreSQL in its container' },
  );
  return {
    env: {
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      SCHEMA_REGISTRY_URL: registryUrl,
      DATABASE_URL: databaseUrl,
    },
    stop,
  };
}
