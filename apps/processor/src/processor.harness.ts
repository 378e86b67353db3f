// Shared by the processor's integration tests (excluded from the build): a database, topics, a
// registered serde and producer per test file, plus helpers to run processors as child processes.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AGGREGATES } from '@tracker/db';
import { createKafka, createRegistry, createTopicsAndWait, InteractionSerde } from '@tracker/kafka';
import type { InteractionRecord } from '@tracker/schemas';
import {
  createTestDatabase,
  groupOffsets,
  stackConfig,
  type TestDatabase,
  uniqueName,
  waitFor,
  waitGroupCaughtUp,
} from '@tracker/test-utils';
import type { Admin, IHeaders, Kafka, Producer } from 'kafkajs';
import { loadProcessorConfig, type ProcessorConfig } from './config.js';

export interface Harness {
  db: TestDatabase;
  kafka: Kafka;
  admin: Admin;
  serde: InteractionSerde;
  producer: Producer;
  topic: string;
  apiHitsTopic: string;
  dlqTopic: string;
  groupId: string;
  /** Environment for a processor on these topics and this database. */
  env: Record<string, string>;
  config: ProcessorConfig;
}

export async function createHarness(name: string, partitions = 3): Promise<Harness> {
  const stack = stackConfig();
  const db = await createTestDatabase(name);
  const kafka = createKafka(stack);
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueName(`it_${name}`);
  const apiHitsTopic = `${topic}.api-hits`;
  const dlqTopic = `${topic}.dlq`;
  await createTopicsAndWait(admin, [
    { topic, numPartitions: partitions },
    { topic: apiHitsTopic, numPartitions: 1 },
    { topic: dlqTopic, numPartitions: 1 },
  ]);
  const serde = new InteractionSerde(createRegistry(stack), `${topic}-value`);
  await serde.register();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const groupId = uniqueName(`it_${name}_group`);
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    KAFKA_BROKERS: stack.KAFKA_BROKERS.join(','),
    SCHEMA_REGISTRY_URL: stack.SCHEMA_REGISTRY_URL,
    PROCESSOR_TOPIC: topic,
    PROCESSOR_API_HITS_TOPIC: apiHitsTopic,
    PROCESSOR_DLQ_TOPIC: dlqTopic,
    PROCESSOR_GROUP_ID: groupId,
    PROCESSOR_LAG_INTERVAL_MS: '500',
    PROCESSOR_SESSION_TIMEOUT_MS: '10000',
    PROCESSOR_HEARTBEAT_INTERVAL_MS: '1000',
    PROCESSOR_RETRY_INITIAL_MS: '100',
    PROCESSOR_RETRY_MAX_DELAY_MS: '1000',
    PORT: '0',
    LOG_LEVEL: 'warn',
  };
  return {
    db,
    kafka,
    admin,
    serde,
    producer,
    topic,
    apiHitsTopic,
    dlqTopic,
    groupId,
    env,
    config: loadProcessorConfig(env),
  };
}

export async function dropHarness(h: Harness | undefined): Promise<void> {
  if (!h) return;
  await h.producer.disconnect().catch(() => {});
  await h.admin.deleteTopics({ topics: [h.topic, h.apiHitsTopic, h.dlqTopic] }).catch(() => {});
  await h.admin.disconnect().catch(() => {});
  await h.db.drop();
}

/** Produces records (Avro, key = userId), acks=all. */
export async function produceRecords(
  h: Harness,
  records: InteractionRecord[],
  topic = h.topic,
): Promise<void> {
  for (let i = 0; i < records.length; i += 1000) {
    const chunk = records.slice(i, i + 1000);
    const messages = await Promise.all(
      chunk.map(async (r) => ({ key: r.userId, value: await h.serde.encode(r) })),
    );
    await h.producer.send({ topic, acks: -1, messages });
  }
}

export async function produceRaw(
  h: Harness,
  messages: { key: string | null; value: Buffer | null; headers?: IHeaders; partition?: number }[],
  topic = h.topic,
): Promise<void> {
  await h.producer.send({ topic, acks: -1, messages });
}

/** Per partition: end offset and the group's committed offset (null when none). */
export function offsets(h: Harness, topic = h.topic, groupId = h.groupId) {
  return groupOffsets(h.admin, topic, groupId);
}

/** Waits until the group has committed everything on the topic. */
export function waitCaughtUp(h: Harness, timeoutMs = 60_000, topic = h.topic, groupId = h.groupId) {
  return waitGroupCaughtUp(h.admin, topic, groupId, timeoutMs);
}

export async function countRows(h: Harness, table: 'interactions' | 'identifies'): Promise<number> {
  const { rows } = await h.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

/** Every aggregate table and the users table, in key order, as one string (equality checks). */
export async function aggregateSnapshot(h: Harness): Promise<string> {
  const out: Record<string, unknown[]> = {};
  for (const { table, keys } of [...AGGREGATES, { table: 'users', keys: ['user_id'] }]) {
    const { rows } = await h.db.pool.query(`SELECT * FROM ${table} ORDER BY ${keys.join(', ')}`);
    out[table] = rows;
  }
  return JSON.stringify(out);
}

/** Reads every message of a topic from the beginning (a fresh group), waiting for `expected` of them. */
export async function readTopic(h: Harness, topic: string, expected: number, timeoutMs = 30_000) {
  const consumer = h.kafka.consumer({ groupId: uniqueName('it_reader') });
  const messages: { key: Buffer | null; value: Buffer | null; headers: IHeaders; offset: string }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      messages.push({
        key: message.key,
        value: message.value,
        headers: message.headers ?? {},
        offset: message.offset,
      });
    },
  });
  try {
    await waitFor(() => messages.length >= expected, { timeoutMs, what: `${expected} messages on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));

export interface ChildProcessor {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/** Runs `node dist/server.js` (the built processor) with the harness environment plus `extra`. */
export function spawnProcessor(h: Harness, extra: Record<string, string> = {}): ChildProcessor {
  if (!existsSync(SERVER))
    throw new Error(`build the processor first (pnpm --filter @tracker/processor build): ${SERVER} missing`);
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env['PATH'] ?? '', ...h.env, LOG_LEVEL: 'info', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/** Resolves when the child has logged `msg` (a pino event name). */
export function waitForLog(p: ChildProcessor, msg: string, timeoutMs = 30_000) {
  return waitFor(() => p.output().includes(`"msg":"${msg}"`), { timeoutMs, what: `log ${msg}` });
}
