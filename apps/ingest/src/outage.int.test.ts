/**
 * A broker outage seen from the ingest service, without stopping the Kafka everybody shares.
 *
 * NOTE: a TCP proxy named in KAFKA_BROKERS alone cannot cut the producer off: Kafka's metadata
 * answer advertises 127.0.0.1:9092, so after bootstrapping through the proxy the client talks to the
 * broker directly. So the app also gets kafkajs' `socketFactory` (a dependency of buildApp) that
 * sends every connection, bootstrap and advertised alike, through the proxy. Cutting the proxy closes
 * its listener (connections refused) and ends the proxied connections, which is what a client sees
 * when the broker process stops; restoring it is the broker coming back on the same address.
 */
import { randomUUID } from 'node:crypto';
import type { TrackerApp } from '@tracker/http';
import { waitFor } from '@tracker/test-utils';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { KafkaProxy, TopicReader, testConfig, testKafka, testTopics } from './ingest.harness.js';

let kafka: Kafka;
let topics: Awaited<ReturnType<typeof testTopics>>;
let app: TrackerApp;
let reader: TopicReader;
let network: KafkaProxy;

beforeAll(async () => {
  kafka = testKafka();
  topics = await testTopics(kafka, 'outage', 1);
  network = await KafkaProxy.forStack().start();
  app = await buildApp(
    testConfig({
      INGEST_TOPIC: topics.interactions,
      INGEST_API_HITS_TOPIC: topics.apiHits,
      INGEST_PRODUCER_TIMEOUT_MS: '4000',
      INGEST_RETRY_AFTER_S: '2',
    }),
    { kafka: { socketFactory: network.socketFactory } },
  );
  await app.ready();
  reader = await new TopicReader(kafka, topics.interactions).start();
});

afterAll(async () => {
  await network?.restore().catch(() => {});
  await app?.close();
  await network?.stop();
  await reader?.stop();
  await topics?.drop();
});

const event = (eventId: string) => ({ eventId, userId: 'outage-user', action: 'click', page: '/buy' });
const send = (eventId: string) => app.inject({ method: 'POST', url: '/v1/events', payload: event(eventId) });
const ready = async () => (await app.inject({ method: 'GET', url: '/readyz' })).json();

describe('Kafka unreachable', () => {
  it('answers 503 with Retry-After (never 202), turns /readyz false, and recovers without a restart', async () => {
    const before = randomUUID();
    expect((await send(before)).statusCode).toBe(202);

    await network.cut();
    const during = randomUUID();
    const failed = await send(during);
    expect(failed.statusCode).toBe(503);
    expect(failed.headers['retry-after']).toBe('2');
    expect(failed.json()).toMatchObject({ status: 503, code: 'BROKER_UNAVAILABLE' });
    // Not "nothing was accepted": a timed-out send may land; the client is told how to resend safely.
    expect(failed.json().message).toMatch(/may have been stored.*resend.*same eventId/);

    expect(await ready()).toEqual({ ready: false, checks: { kafka: false, schemaRegistry: true } });
    // Fail fast while down: no request waits for a timeout.
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: { events: [event(randomUUID())] },
    });
    expect(batch.statusCode).toBe(503);
    const imported = await app.inject({
      method: 'POST',
      url: '/v1/import',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: `${JSON.stringify(event(randomUUID()))}\n`,
    });
    expect(imported.statusCode).toBe(503);
    expect(imported.json().message).toContain('no event was accepted');
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/ingest_kafka_up\{[^}]*\} 0/);
    expect(metrics).toMatch(/ingest_events_unavailable_total\{[^}]*route="\/v1\/events"[^}]*\} [1-9]/);

    await network.restore();
    await waitFor(async () => (await ready()).ready === true, {
      timeoutMs: 30_000,
      what: '/readyz to turn true again',
    });
    // The client retries the refused event with the same eventId.
    const retried = await send(during);
    expect(retried.statusCode).toBe(202);
    expect(retried.json()).toEqual({ id: during });

    await reader.waitForRecord((r) => r.eventId === before, 'the event sent before the outage');
    await reader.waitForRecord((r) => r.eventId === during, 'the event retried after the outage');
  });
});
