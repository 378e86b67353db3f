#!/usr/bin/env node
/**
 * Operator commands used by ./tracker: `ready` exits 0 once the admin client can describe the
 * cluster; `topics` creates the missing topics. Settings from the same env vars as the services.
 */
import { CommonEnv, loadConfig, Type } from '@tracker/config';
import { createKafka } from './client.js';
import { ensureTopics } from './topics.js';

const config = loadConfig(
  Type.Object({
    KAFKA_BROKERS: CommonEnv.KAFKA_BROKERS,
    KAFKA_CLIENT_ID: Type.String({ default: 'tracker-cli' }),
    KAFKA_SSL: CommonEnv.KAFKA_SSL,
    KAFKA_SASL_MECHANISM: CommonEnv.KAFKA_SASL_MECHANISM,
    KAFKA_SASL_USERNAME: CommonEnv.KAFKA_SASL_USERNAME,
    KAFKA_SASL_PASSWORD: CommonEnv.KAFKA_SASL_PASSWORD,
    KAFKA_TOPIC_PARTITIONS: Type.Integer({ minimum: 1, default: 12 }),
    KAFKA_TOPIC_RETENTION_MS: Type.Integer({ minimum: -1, default: 7 * 24 * 3600 * 1000 }),
    KAFKA_TOPIC_REPLICATION_FACTOR: Type.Integer({ minimum: 1, default: 1 }),
  }),
);

const kafka = createKafka(config, undefined, { retry: { retries: 0 } });
const admin = kafka.admin();
const command = process.argv[2];
try {
  await admin.connect();
  if (command === 'ready') {
    const cluster = await admin.describeCluster();
    console.log(
      JSON.stringify({ ready: true, brokers: cluster.brokers.length, controller: cluster.controller }),
    );
  } else if (command === 'topics') {
    const created = await ensureTopics(admin, {
      partitions: config.KAFKA_TOPIC_PARTITIONS,
      retentionMs: config.KAFKA_TOPIC_RETENTION_MS,
      replicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR,
    });
    console.log(JSON.stringify({ created }));
  } else {
    console.error('usage: tracker-kafka ready|topics');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(`kafka ${command ?? ''} failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await admin.disconnect().catch(() => {});
}
