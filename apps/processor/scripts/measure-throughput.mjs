#!/usr/bin/env node
// Events/s stored by ONE processor (node dist/server.js) from a pre-filled topic.
//   node scripts/measure-throughput.mjs [events=50000] [partitions=12]
// Creates its own topics and database (dropped at the end), produces the events (Avro through the
// registry), starts the processor and times it from its first stored row until every offset is
// committed. Prints one JSON line. Uses the stack from the usual env vars (defaults: local stack).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createPool, ensureDatabase, migrate, pg } from '@tracker/db';
import { createKafka, createRegistry, InteractionSerde } from '@tracker/kafka';

const events = Number(process.argv[2] ?? 50_000);
const partitions = Number(process.argv[3] ?? 12);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const baseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tracker';
const id = `bench_proc_${Date.now().toString(36)}`;
const dbUrl = new URL(baseUrl);
dbUrl.pathname = `/${id}`;

const kafka = createKafka({ KAFKA_BROKERS: brokers, KAFKA_CLIENT_ID: 'measure-throughput' });
const admin = kafka.admin();
await admin.connect();
const topics = { topic: id, hits: `${id}.api-hits`, dlq: `${id}.dlq` };
await admin.createTopics({
  topics: [{ topic: topics.topic, numPartitions: partitions }, { topic: topics.hits }, { topic: topics.dlq }],
  waitForLeaders: true,
});
await ensureDatabase(dbUrl.toString());
await migrate(dbUrl.toString());

const serde = new InteractionSerde(createRegistry({ SCHEMA_REGISTRY_URL: registryUrl }), `${id}-value`);
await serde.register();
const producer = kafka.producer();
await producer.connect();
const start = Date.UTC(2026, 0, 1);
const actions = ['page_view', 'click', 'form_submit', 'signup', 'search', 'download'];
let t0 = performance.now();
for (let i = 0; i < events; i += 2000) {
  const messages = [];
  for (let j = i; j < Math.min(events, i + 2000); j += 1) {
    const userId = `user-${j % 2000}`;
    const record = {
      eventId: randomUUID(),
      type: 'TRACK',
      userId,
      role: ['ADMIN', 'USER', 'GUEST'][j % 3],
      action: actions[j % actions.length],
      page: `/section-${j % 10}/page-${j % 97}`,
      occurredAt: start + Math.floor((j / events) * 30 * 86_400_000),
      receivedAt: start + Math.floor((j / events) * 30 * 86_400_000) + 30,
      sessionId: `s-${j % 5000}`,
      properties: { plan: 'pro', n: j },
      userAgent: 'Mozilla/5.0',
      isBot: false,
    };
    messages.push({ key: userId, value: await serde.encode(record) });
  }
  await producer.send({ topic: topics.topic, acks: -1, messages });
}
await producer.disconnect();
const produceSeconds = (performance.now() - t0) / 1000;

const server = fileURLToPath(new URL('../dist/server.js', import.meta.url));
const child = spawn(process.execPath, [server], {
  env: {
    ...process.env,
    DATABASE_URL: dbUrl.toString(),
    KAFKA_BROKERS: brokers.join(','),
    SCHEMA_REGISTRY_URL: registryUrl,
    PROCESSOR_TOPIC: topics.topic,
    PROCESSOR_API_HITS_TOPIC: topics.hits,
    PROCESSOR_DLQ_TOPIC: topics.dlq,
    PROCESSOR_GROUP_ID: id,
    PORT: '0',
    LOG_LEVEL: process.env.MEASURE_LOG_LEVEL ?? 'warn',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const pool = createPool(dbUrl.toString(), 2);
const count = async () => (await pool.query('SELECT count(*)::int AS n FROM interactions')).rows[0].n;
const started = performance.now();
while ((await count()) === 0) await new Promise((r) => setTimeout(r, 20));
t0 = performance.now();
const firstRowAfter = (t0 - started) / 1000;
for (;;) {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topics.topic),
    admin.fetchOffsets({ groupId: id, topics: [topics.topic] }),
  ]);
  const c = new Map(committed[0].partitions.map((p) => [p.partition, p.offset]));
  if (ends.every((e) => c.get(e.partition) === e.high)) break;
  await new Promise((r) => setTimeout(r, 20));
}
const seconds = (performance.now() - t0) / 1000;
const stored = await count();
const peakRss = await new Promise((resolve) => {
  child.once('exit', () => resolve(null));
  child.kill('SIGTERM');
});
await pool.end();
const result = {
  name: 'processor_pipeline',
  events,
  partitions,
  stored,
  seconds: Number(seconds.toFixed(2)),
  value: Math.round(events / seconds),
  unit: 'events/s',
  startupSeconds: Number(firstRowAfter.toFixed(2)),
  produceSeconds: Number(produceSeconds.toFixed(2)),
};
console.log(JSON.stringify(result));
void peakRss;
await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => {});
await admin.disconnect();
const adminUrl = new URL(baseUrl);
adminUrl.pathname = '/postgres';
const client = new pg.Client({ connectionString: adminUrl.toString() });
await client.connect();
await client.query(`DROP DATABASE IF EXISTS "${id}" WITH (FORCE)`);
await client.end();
