/**
 * Poison messages produced straight to the interactions topic (as a misconfigured or hostile producer
 * would, bypassing ingest) on the whole stack: the processor (child process) dead-letters each one
 * with its reason, stores none, keeps consuming, and the query service (child process) shows them at
 * /api/dlq. apps/processor/src/processor.int.test.ts covers the processor's DLQ headers and bytes in
 * detail; this file adds the operator's view and a wider set of poison.
 */
import { randomBytes } from 'node:crypto';
import { createRegistry, InteractionSerde } from '@tracker/kafka';
import { DLQ_HEADERS } from '@tracker/schemas';
import type { IHeaders, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInteraction } from '../factories.js';
import type { ServiceProcess } from '../services.js';
import { stackConfig } from '../stack.js';
import { waitFor } from '../wait.js';
import { metric, Pipeline } from './pipeline.js';

let p: Pipeline;
let processor: ServiceProcess;
let query: ServiceProcess;
let producer: Producer;
let serde: InteractionSerde;

beforeAll(async () => {
  // One partition: the messages are consumed in the order they are produced.
  p = await Pipeline.create('poison', { partitions: 1 });
  [processor, query] = await Promise.all([p.start('processor'), p.start('query')]);
  serde = new InteractionSerde(createRegistry(stackConfig()), `${p.topics.interactions}-value`);
  await serde.register();
  producer = p.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await p?.close();
});

interface DlqAnswer {
  topic: string;
  count: number;
  complete: boolean;
  messages: {
    offset: string;
    key: string | null;
    reason: string | null;
    step: string | null;
    source: { topic: string | null; partition: number | null; offset: string | null };
    value: { bytes: number; schemaId: number | null };
  }[];
}

describe('poison messages', () => {
  it('dead-letters every kind with a reason, stores none, keeps consuming, and /api/dlq shows them', {
    timeout: 120_000,
  }, async () => {
    const T = Date.UTC(2026, 5, 1);
    const good = [0, 1, 2].map((i) =>
      buildInteraction({ userId: 'poison-good', occurredAt: T + i, receivedAt: T + i }),
    );
    const valid = await serde.encode(good[0]!);
    const unknownSchema = Buffer.from(valid);
    unknownSchema.writeUInt32BE(0x7ffffff0, 1);
    const random = () => Buffer.concat([Buffer.from([0xab]), randomBytes(63)]);
    const poison: { name: string; value: Buffer | null; reason: string; step: string }[] = [
      { name: 'random bytes 1', value: random(), reason: 'not_avro', step: 'decode' },
      { name: 'random bytes 2', value: random(), reason: 'not_avro', step: 'decode' },
      { name: 'random bytes 3', value: random(), reason: 'not_avro', step: 'decode' },
      {
        name: 'JSON instead of Avro',
        value: Buffer.from('{"userId":"u","action":"click","page":"/"}'),
        reason: 'not_avro',
        step: 'decode',
      },
      { name: 'empty value', value: Buffer.alloc(0), reason: 'not_avro', step: 'decode' },
      { name: 'null value (tombstone)', value: null, reason: 'not_avro', step: 'decode' },
      { name: 'magic byte only', value: Buffer.from([0]), reason: 'not_avro', step: 'decode' },
      { name: 'unknown schema id', value: unknownSchema, reason: 'unknown_schema', step: 'decode' },
      { name: 'truncated Avro', value: valid.subarray(0, 12), reason: 'avro_decode_failed', step: 'decode' },
      {
        name: 'Avro + trailing garbage',
        value: Buffer.concat([valid, randomBytes(8)]),
        reason: 'avro_decode_failed',
        step: 'decode',
      },
      {
        name: 'action breaks the pattern',
        value: await serde.encode(buildInteraction({ action: 'DROP TABLE;' })),
        reason: 'invalid_record',
        step: 'validate',
      },
      {
        name: 'property value too long',
        value: await serde.encode(buildInteraction({ properties: { note: 'x'.repeat(5000) } })),
        reason: 'invalid_record',
        step: 'validate',
      },
      {
        name: 'userId too long',
        value: await serde.encode(buildInteraction({ userId: 'u'.repeat(500) })),
        reason: 'invalid_record',
        step: 'validate',
      },
      {
        name: 'empty userId',
        value: await serde.encode(buildInteraction({ userId: '' })),
        reason: 'invalid_record',
        step: 'validate',
      },
      {
        name: 'eventId not a UUID',
        value: await serde.encode(buildInteraction({ eventId: 'not-a-uuid' })),
        reason: 'invalid_record',
        step: 'validate',
      },
      {
        name: 'NUL in userId',
        value: await serde.encode(buildInteraction({ userId: 'a\u0000b' })),
        reason: 'invalid_record',
        step: 'validate',
      },
      {
        name: 'year 12000',
        value: await serde.encode(buildInteraction({ occurredAt: Date.UTC(12000, 0, 1) })),
        reason: 'invalid_record',
        step: 'validate',
      },
    ];
    const headers: IHeaders = { origin: 'reliability-test' };
    const [before] = await producer.send({
      topic: p.topics.interactions,
      acks: -1,
      messages: [
        { key: 'poison-good', value: valid },
        ...poison.map((m) => ({ key: m.name, value: m.value, headers })),
        { key: 'poison-good', value: await serde.encode(good[1]!) },
      ],
    });
    // The consumer keeps going: an event produced after all the poison is stored too.
    await producer.send({
      topic: p.topics.interactions,
      acks: -1,
      messages: [{ key: 'poison-good', value: await serde.encode(good[2]!) }],
    });
    const firstOffset = Number(before!.baseOffset);
    await p.waitCaughtUp(60_000);

    const { rows } = await p.db.pool.query<{ id: string }>(
      'SELECT event_id::text AS id FROM interactions ORDER BY occurred_at',
    );
    expect(rows.map((r) => r.id)).toEqual(good.map((g) => g.eventId));
    expect(await p.endOffset(p.topics.dlq)).toBe(poison.length);
    expect(await metric(processor.url, 'processor_dead_lettered_total')).toBe(poison.length);

    // The operator's view: every message, newest first, with its reason and where it came from.
    const response = await fetch(`${query.url}/api/dlq?limit=100`);
    expect(response.status).toBe(200);
    const dlq = (await response.json()) as DlqAnswer;
    expect(dlq).toMatchObject({ topic: p.topics.dlq, count: poison.length, complete: true });
    const shown = [...dlq.messages].reverse();
    expect(shown.map((m) => m.key)).toEqual(poison.map((m) => m.name));
    expect(shown.map((m) => [m.reason?.split(':')[0], m.step])).toEqual(
      poison.map((m) => [m.reason, m.step]),
    );
    expect(shown.every((m) => (m.reason ?? '').length > m.reason!.split(':')[0]!.length + 2)).toBe(true);
    expect(shown.map((m) => m.source)).toEqual(
      poison.map((_, i) => ({
        topic: p.topics.interactions,
        partition: 0,
        offset: String(firstOffset + 1 + i),
      })),
    );
    expect(shown.map((m) => m.value.bytes)).toEqual(poison.map((m) => m.value?.length ?? 0));
    expect(shown.find((m) => m.key === 'unknown schema id')?.value.schemaId).toBe(0x7ffffff0);
    expect(shown.find((m) => m.key === 'action breaks the pattern')?.reason).toContain('/action');
    expect(shown.find((m) => m.key === 'property value too long')?.reason).toContain('/properties/note');

    // The dead-letter topic itself carries the original headers next to the reason headers.
    const consumer = p.kafka.consumer({ groupId: `${p.groupId}-dlq-reader` });
    const read: IHeaders[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: p.topics.dlq, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void read.push(message.headers ?? {}) });
    await waitFor(() => read.length >= poison.length, { timeoutMs: 30_000, what: 'the DLQ messages' });
    await consumer.disconnect();
    expect(read.every((h) => h['origin']?.toString() === 'reliability-test')).toBe(true);
    expect(read.every((h) => h[DLQ_HEADERS.reason] !== undefined && h[DLQ_HEADERS.time] !== undefined)).toBe(
      true,
    );
    expect(processor.running).toBe(true);
  });
});
