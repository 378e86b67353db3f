import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ApiHitsMessage } from '@tracker/schemas';
import { stackConfig, waitFor } from '@tracker/test-utils';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SUBJECT, TopicReader, testKafka, testTopics } from './ingest.harness.js';

const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));

let kafka: Kafka;
let topics: Awaited<ReturnType<typeof testTopics>>;
let child: ChildProcess | undefined;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  kafka = testKafka();
  topics = await testTopics(kafka, 'server', 1);
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await topics?.drop();
});

describe('the ingest process (dist/server.js)', () => {
  it('is built (the integration tier runs after the build)', () => {
    expect(existsSync(SERVER)).toBe(true);
  });

  it('serves from the environment, and on SIGTERM drains, flushes, and exits 0 without losing a 202', async () => {
    const port = await freePort();
    const stack = stackConfig();
    const proc = spawn(process.execPath, [SERVER], {
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        LOG_LEVEL: 'info',
        KAFKA_BROKERS: stack.KAFKA_BROKERS.join(','),
        SCHEMA_REGISTRY_URL: stack.SCHEMA_REGISTRY_URL,
        INGEST_TOPIC: topics.interactions,
        INGEST_API_HITS_TOPIC: topics.apiHits,
        INGEST_API_HITS_INTERVAL_MS: '60000',
        INGEST_SUBJECT: TEST_SUBJECT,
        KAFKAJS_NO_PARTITIONER_WARNING: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let output = '';
    proc.stdout!.on('data', (d) => {
      output += d;
    });
    proc.stderr!.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, {
      timeoutMs: 30_000,
      what: `ingest on ${port}: ${output}`,
    });
    expect(output).toContain('"msg":"write_keys_unset"');

    const ids = Array.from({ length: 31 }, () => randomUUID());
    const send = (i: number) =>
      fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ eventId: ids[i], userId: `srv-${i}`, action: 'click', page: '/' }),
      }).then(
        (res) => res.status,
        () => 0, // refused: the listener had already closed
      );
    expect(await send(0)).toBe(202);
    const sends = [Promise.resolve(202), ...ids.slice(1).map((_, i) => send(i + 1))];
    // Stop while requests are on their way: in-flight ones finish, later ones are refused or get 503.
    setTimeout(() => proc.kill('SIGTERM'), 5);
    const statuses = await Promise.all(sends);
    expect(await exited, output).toBe(0);
    expect(output).toContain('"msg":"ingest_stopped"');
    for (const status of statuses) expect([0, 202, 503]).toContain(status);

    const accepted = ids.filter((_, i) => statuses[i] === 202);
    const reader = await new TopicReader(kafka, topics.interactions).start();
    const hits = await new TopicReader(kafka, topics.apiHits).start();
    try {
      if (accepted.length > 0) await reader.waitForCount(accepted.length);
      const onTopic = new Set((await reader.records()).map((r) => r.eventId));
      for (const id of accepted) expect(onTopic.has(id), id).toBe(true);
      // The API-hits delta is flushed on the way out (its interval is a minute).
      await hits.waitForCount(1);
      const total = hits.messages
        .map((m) => JSON.parse(m.value.toString()) as ApiHitsMessage)
        .reduce((n, m) => n + m.hits, 0);
      // Requests refused while closing (Fastify's own 503) never reach the hooks and are not counted.
      expect(total).toBeGreaterThanOrEqual(accepted.length);
    } finally {
      await reader.stop();
      await hits.stop();
    }
  });
});
