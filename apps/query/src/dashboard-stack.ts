import { createKafka } from '@tracker/kafka';
import { type ServiceProcess, spawnService, stackConfig, uniqueName } from '@tracker/test-utils';

export interface Pipeline {
  /** http://127.0.0.1:<port> of the ingest service. */
  ingest: string;
  close(): Promise<void>;
}

/**
 * The real pipeline in front of `databaseUrl`: ingest and processor as child processes (their built
 * servers) on topics of their own, so events sent over HTTP travel Kafka (Avro) and the processor
 * into the database the dashboard reads.
 */
export async function startPipeline(databaseUrl: string): Promise<Pipeline> {
  const stack = stackConfig();
  const kafka = createKafka({ ...stack, KAFKA_CLIENT_ID: 'dashboard-e2e' });
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueName('dash_interactions');
  const apiHits = `${topic}.api-hits`;
  const dlq = `${topic}.dlq`;
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 3 },
      { topic: apiHits, numPartitions: 1 },
      { topic: dlq, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  const common = {
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: stack.KAFKA_BROKERS.join(','),
    SCHEMA_REGISTRY_URL: stack.SCHEMA_REGISTRY_URL,
  };
  const services: ServiceProcess[] = [];
  const close = async () => {
    await Promise.all(services.map((s) => s.stop()));
    await admin.deleteTopics({ topics: [topic, apiHits, dlq] }).catch(() => {});
    await admin.disconnect();
  };
  try {
    services.push(
      await spawnService('processor', {
        env: {
          ...common,
          DATABASE_URL: databaseUrl,
          PROCESSOR_TOPIC: topic,
          PROCESSOR_API_HITS_TOPIC: apiHits,
          PROCESSOR_DLQ_TOPIC: dlq,
          PROCESSOR_GROUP_ID: uniqueName('dash_group'),
          PROCESSOR_LAG_INTERVAL_MS: '500',
          PROCESSOR_SESSION_TIMEOUT_MS: '10000',
          PROCESSOR_HEARTBEAT_INTERVAL_MS: '1000',
        },
      }),
    );
    const ingest = await spawnService('ingest', {
      env: {
        ...common,
        INGEST_TOPIC: topic,
        INGEST_API_HITS_TOPIC: apiHits,
        INGEST_API_HITS_INTERVAL_MS: '500',
      },
    });
    services.push(ingest);
    await Promise.all(services.map((s) => s.ready()));
    return { ingest: ingest.url, close };
  } catch (error) {
    await close();
    throw error;
  }
}
