import type { TrackerApp } from '@tracker/http';
import { createKafka, createTopicsAndWait } from '@tracker/kafka';
import { DLQ_HEADERS, TOPICS } from '@tracker/schemas';
import { createTestDatabase, stackConfig, type TestDatabase, uniqueName } from '@tracker/test-utils';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { testConfig } from './query.harness.js';

const topic = uniqueName('it_query_dlq');
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let db: TestDatabase;
let app: TrackerApp;

const deadLetter = (i: number, reason: string, value: Buffer) => ({
  key: `user-${i}`,
  value,
  timestamp: String(Date.parse('2026-04-01T00:00:00Z') + i * 1000),
  headers: {
    [DLQ_HEADERS.reason]: reason,
    [DLQ_HEADERS.step]: i % 2 === 0 ? 'decode' : 'validate',
    [DLQ_HEADERS.topic]: TOPICS.interactions,
    [DLQ_HEADERS.partition]: String(i % 3),
    [DLQ_HEADERS.offset]: String(1000 + i),
    [DLQ_HEADERS.time]: new Date(Date.parse('2026-04-01T00:00:00Z') + i * 1000).toISOString(),
  },
});

beforeAll(async () => {
  kafka = createKafka(stackConfig());
  admin = kafka.admin();
  await admin.connect();
  await createTopicsAndWait(admin, [{ topic, numPartitions: 2 }]);
  producer = kafka.producer();
  await producer.connect();
  db = await createTestDatabase('query_dlq');
  app = await buildApp(testConfig(db.url, { QUERY_DLQ_TOPIC: topic, QUERY_DLQ_CACHE_MS: '0' }));
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await producer?.disconnect();
  await admin?.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin?.disconnect();
  await db?.drop();
});

describe('GET /api/dlq', () => {
  it('answers an empty count before anything was dead-lettered', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/dlq' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ topic, count: 0, messages: [], complete: true });
    expect(res.json().partitions).toHaveLength(2);
  });

  it('counts dead-lettered messages and shows the most recent with their reasons, newest first', async () => {
    const messages = [
      deadLetter(1, 'not Avro: magic byte missing', Buffer.from('{"userId":"u1","action":"click"}')),
      deadLetter(2, 'schema 99 not found', Buffer.from([0, 0, 0, 0, 99, 1, 2, 3])),
      deadLetter(
        3,
        'validation failed: action must match ^[a-z0-9_.:-]{1,64}$',
        Buffer.from('bad\u0000bytes'),
      ),
      ...Array.from({ length: 30 }, (_, i) =>
        deadLetter(10 + i, `reason ${10 + i}`, Buffer.from(`payload ${i}`)),
      ),
    ];
    await producer.send({ topic, messages: messages.slice(0, 3).map((m) => ({ ...m, partition: 0 })) });
    await producer.send({ topic, messages: messages.slice(3).map((m, i) => ({ ...m, partition: i % 2 })) });

    const res = await app.inject({ method: 'GET', url: '/api/dlq?limit=40' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.count).toBe(33);
    expect(body.complete).toBe(true);
    expect(body.messages).toHaveLength(33);
    expect(body.messages[0].reason).toBe('reason 39');
    const oldest = body.messages.slice(-3);
    expect(oldest.map((m: { reason: string }) => m.reason)).toEqual([
      'validation failed: action must match ^[a-z0-9_.:-]{1,64}$',
      'schema 99 not found',
      'not Avro: magic byte missing',
    ]);
    expect(oldest[2]).toEqual({
      partition: 0,
      offset: '0',
      timestamp: '2026-04-01T00:00:01.000Z',
      key: 'user-1',
      reason: 'not Avro: magic byte missing',
      step: 'validate',
      source: { topic: TOPICS.interactions, partition: 1, offset: '1001' },
      deadLetteredAt: '2026-04-01T00:00:01.000Z',
      value: { bytes: 32, schemaId: null, preview: '{"userId":"u1","action":"click"}', encoding: 'utf8' },
    });
    expect(oldest[1].value).toEqual({
      bytes: 8,
      schemaId: 99,
      preview: Buffer.from([0, 0, 0, 0, 99, 1, 2, 3]).toString('base64'),
      encoding: 'base64',
    });
    expect(oldest[0].value.encoding).toBe('base64');

    const few = (await app.inject({ method: 'GET', url: '/api/dlq?limit=5' })).json();
    expect(few.count).toBe(33);
    expect(few.messages.map((m: { reason: string }) => m.reason)).toEqual([
      'reason 39',
      'reason 38',
      'reason 37',
      'reason 36',
      'reason 35',
    ]);
  });

  it('keeps following the topic', async () => {
    await producer.send({
      topic,
      messages: [{ ...deadLetter(99, 'the newest', Buffer.from('x')), partition: 1 }],
    });
    const body = (await app.inject({ method: 'GET', url: '/api/dlq?limit=1' })).json();
    expect(body.count).toBe(34);
    expect(body.messages.map((m: { reason: string }) => m.reason)).toEqual(['the newest']);
  });

  it('refuses a bad limit', async () => {
    for (const limit of ['0', '101', 'all']) {
      const res = await app.inject({ method: 'GET', url: `/api/dlq?limit=${limit}` });
      expect(res.statusCode).toBe(400);
      expect(res.json().details[0].path).toBe('querystring.limit');
    }
  });

  it('answers 503 in the common shape when Kafka does not answer', async () => {
    const offline = await buildApp(
      testConfig(db.url, {
        KAFKA_BROKERS: '127.0.0.1:1',
        QUERY_DLQ_TOPIC: topic,
        QUERY_DLQ_TIMEOUT_MS: '1500',
      }),
    );
    try {
      const res = await offline.inject({ method: 'GET', url: '/api/dlq' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 503, code: 'KAFKA_UNAVAILABLE' });
    } finally {
      await offline.close();
    }
  });
});
