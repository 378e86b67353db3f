/**
 * A processor starts after an unclean stop of the one before it (review item 4).
 *
 * A processor that dies without leaving its consumer group (SIGKILL, OOM, or the broker stopped
 * first) leaves a member the broker keeps for the session timeout, also across its own restart. The
 * next processor's join waits for it. That wait used to run inside Fastify's onReady hook, whose 10 s
 * limit ended the process (`processor_start_failed`, exit 1). Now the processor listens at once,
 * /readyz answers 503 with the reason while it waits, and it consumes once it has its partitions.
 * The session timeout here (20 s) outlasts that 10 s limit. The second test stops a broker of its
 * own (private-kafka.ts); the registry and PostgreSQL are the shared ones.
 */
import { createKafka, createRegistry, InteractionSerde } from '@tracker/kafka';
import type { Admin } from 'kafkajs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildInteraction } from '../factories.js';
import { waitGroupCaughtUp } from '../kafka.js';
import { type PrivateKafka, startPrivateKafka } from '../private-kafka.js';
import { logLines, type ServiceProcess, spawnService } from '../services.js';
import { stackConfig } from '../stack.js';
import { waitFor } from '../wait.js';
import { makeEvents, Pipeline, sendBatches, sleep } from './pipeline.js';

const SESSION_TIMEOUT = { PROCESSOR_SESSION_TIMEOUT_MS: '20000' };
const WAITING = 'waiting for partition assignment';

interface ReadyBody {
  ready: boolean;
  checks: Record<string, boolean>;
  reasons?: Record<string, string>;
}

async function readyz(url: string): Promise<{ status: number; body: ReadyBody | undefined }> {
  const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
  const body = response ? ((await response.json()) as ReadyBody) : undefined;
  return { status: response?.status ?? 0, body };
}

/**
 * Starts a processor while a dead member holds up its group: it must listen within a few seconds
 * (well before Fastify's 10 s onReady limit), say on /readyz why it is not ready, wait calmly and
 * then become ready. Returns it ready.
 */
async function startBehindDeadMember(p: Pipeline, env: Record<string, string>): Promise<ServiceProcess> {
  const spawnedAt = Date.now();
  const processor = await spawnService('processor', { env });
  p.services.push(processor);
  const failed = (what: string) =>
    new Error(`${what}\n--- processor output ---\n${processor.output().slice(-4000)}`);
  const listening = await waitFor(
    async () => {
      if (!processor.running) return 'exited';
      const response = await fetch(`${processor.url}/healthz`).catch(() => undefined);
      return response?.status === 200 ? 'listening' : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 100, what: 'the processor to listen' },
  ).catch((error: Error) => {
    throw failed(error.message);
  });
  if (listening === 'exited') throw failed(`processor exited (code ${await processor.exited})`);
  // Well before the 10 s that used to end the start-up (its join does not hold up listening).
  expect(Date.now() - spawnedAt).toBeLessThan(8000);
  const waiting = await waitFor(
    async () => {
      const { status, body } = await readyz(processor.url);
      return body?.reasons?.['consumer'] === WAITING ? { status, body } : undefined;
    },
    { timeoutMs: 8000, intervalMs: 100, what: `/readyz to say "${WAITING}"` },
  ).catch((error: Error) => {
    throw failed(error.message);
  });
  expect(waiting).toEqual({
    status: 503,
    body: { ready: false, checks: { database: true, consumer: false }, reasons: { consumer: WAITING } },
  });
  await processor.ready(60_000);
  expect(await readyz(processor.url)).toEqual({
    status: 200,
    body: { ready: true, checks: { database: true, consumer: true } },
  });
  // It waited calmly: from consumer_started to group_joined a group_join_waiting line now and then,
  // no crash, no restart, no warning (but the access log's for each 503 /readyz).
  const lines = logLines(processor.output());
  const started = lines.findIndex((l) => l['msg'] === 'consumer_started');
  const joined = lines.findIndex((l) => l['msg'] === 'group_joined');
  expect(started).toBeGreaterThanOrEqual(0);
  const waited = lines.slice(started, joined);
  expect(waited.filter((l) => l['msg'] === 'group_join_waiting').length).toBeGreaterThan(0);
  const noisy = waited.filter((l) => Number(l['level']) >= 40 && l['url'] !== '/readyz');
  expect(noisy.map((l) => `${l['msg']} ${l['kafkajs'] ?? l['err'] ?? ''}`)).toEqual([]);
  return processor;
}

describe('processor restart after a SIGKILL', () => {
  let p: Pipeline | undefined;

  afterAll(async () => {
    await p?.close();
  });

  it('listens at once, reports why it waits, then consumes', { timeout: 150_000 }, async () => {
    p = await Pipeline.create('crash', { partitions: 3 });
    const ingest = await p.start('ingest', { env: { LOG_LEVEL: 'warn' } });
    const first = await p.start('processor', { env: SESSION_TIMEOUT });
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe(null);

    const second = await startBehindDeadMember(p, { ...p.env('processor'), ...SESSION_TIMEOUT });

    const events = makeEvents(500, 'crash');
    const sent = await sendBatches(ingest.url, events, { batchSize: 100 });
    expect(sent.accepted.length).toBe(500);
    await p.waitForRows(500, 60_000);
    const ids = await p.storedIds();
    expect(events.filter((e) => !ids.has(e.eventId))).toEqual([]);
    expect(second.running).toBe(true);

    // Stopped while it waits (Ctrl-C during ./tracker up): it exits 0 without waiting for the join.
    second.child.kill('SIGKILL');
    await second.exited;
    const third = await spawnService('processor', { env: { ...p.env('processor'), ...SESSION_TIMEOUT } });
    p.services.push(third);
    await waitFor(async () => (await readyz(third.url)).body?.reasons?.['consumer'] === WAITING, {
      timeoutMs: 15_000,
      what: `/readyz to say "${WAITING}"`,
    });
    third.child.kill('SIGTERM');
    expect(await Promise.race([third.exited, sleep(5000).then(() => 'still running after 5 s')])).toBe(0);
    expect(logLines(third.output()).map((l) => l['msg'])).toContain('consumer_stopped');
  });
});

describe('processor restart after the broker stopped first', () => {
  let p: Pipeline | undefined;
  let kafka: PrivateKafka | undefined;
  let admin: Admin | undefined;

  afterEach(async () => {
    await admin?.disconnect().catch(() => {});
    await Promise.all((p?.services ?? []).map((s) => s.stop(10_000)));
    await kafka?.close();
    await p?.close();
  });

  it('a new processor joins once the broker is back', { timeout: 180_000 }, async () => {
    p = await Pipeline.create('brokerstop', { partitions: 3 });
    const pipeline = p;
    kafka = await startPrivateKafka();
    const client = createKafka({ KAFKA_BROKERS: [kafka.broker], KAFKA_CLIENT_ID: 'restart-after-crash' });
    const { interactions, apiHits, dlq } = pipeline.topics;
    const connectAdmin = async () => {
      await admin?.disconnect().catch(() => {});
      admin = client.admin();
      await admin.connect();
      return admin;
    };
    await (await connectAdmin()).createTopics({
      topics: [
        { topic: interactions, numPartitions: 3 },
        { topic: apiHits, numPartitions: 1 },
        { topic: dlq, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    const serde = new InteractionSerde(createRegistry(stackConfig()), `${interactions}-value`);
    await serde.register();
    const produce = async (n: number) => {
      const producer = client.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const records = Array.from({ length: n }, (_, i) => buildInteraction({ userId: `broker-${i % 7}` }));
      await producer.send({
        topic: interactions,
        acks: -1,
        messages: records.map((r) => ({ key: r.userId, value: serde.encodeSync(r) })),
      });
      await producer.disconnect();
      return records.map((r) => r.eventId);
    };
    const env = { ...pipeline.env('processor'), ...SESSION_TIMEOUT, KAFKA_BROKERS: kafka.broker };

    const first = await spawnService('processor', { env });
    pipeline.services.push(first);
    await first.ready();
    const before = await produce(100);
    await pipeline.waitForRows(100, 60_000);
    await waitGroupCaughtUp(admin!, interactions, pipeline.groupId);

    // The broker goes first, so the processor cannot leave its group; then the processor dies.
    await kafka.stop();
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe(null);
    await kafka.start();
    await connectAdmin();

    const second = await startBehindDeadMember(pipeline, env);
    const after = await produce(100);
    await pipeline.waitForRows(200, 60_000);
    const ids = await pipeline.storedIds();
    expect([...before, ...after].filter((id) => !ids.has(id))).toEqual([]);
    expect(second.running).toBe(true);
  });
});
