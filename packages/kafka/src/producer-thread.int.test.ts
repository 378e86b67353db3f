import { stackConfig, uniqueName, waitFor } from '@tracker/test-utils';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BatchingProducer, createKafka, SplitProducer, ThreadProducer } from './index.js';

const config = stackConfig();
let kafka: Kafka;
let admin: Admin;
const topic = uniqueName('it_thread');

beforeAll(async () => {
  kafka = createKafka(config);
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
});

afterAll(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
});

async function readAll(count: number): Promise<KafkaMessage[]> {
  const got: KafkaMessage[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('it_thread_group') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message) });
  await waitFor(() => got.length >= count, { what: `${count} messages`, timeoutMs: 30_000 });
  await consumer.disconnect();
  return got;
}

describe('BatchingProducer with its kafkajs producer on a worker thread', () => {
  it('delivers every message as sent, large sends through the thread: packed (string keys), null values, and the cloned form (Buffer keys, headers)', async () => {
    const producer = new BatchingProducer(kafka, {
      topic,
      lingerMs: 5,
      maxBatchMessages: 120,
      thread: { connection: config, minMessages: 100 },
    });
    const split = producer.producer as SplitProducer;
    expect(split).toBeInstanceOf(SplitProducer);
    expect(split.thread).toBeInstanceOf(ThreadProducer);
    const onThread = vi.spyOn(split.thread, 'send');
    const local = vi.spyOn(split.local, 'send');
    await producer.connect();
    const packed = Array.from({ length: 300 }, (_, i) => ({
      key: `user-${i % 7}`,
      value: i % 50 === 0 ? null : Buffer.from(`value ${i} ${'é'.repeat(i % 5)}`),
    }));
    const cloned = [
      {
        key: Buffer.from([0, 1, 2]),
        value: Buffer.from('with headers'),
        headers: { h: 'v', bin: Buffer.from([1, 2]) },
      },
      { key: 'stamped', value: Buffer.from('with a timestamp'), timestamp: '1000' },
    ];
    // the cloned messages first: the first send (120 messages) goes through the thread
    await Promise.all([
      producer.send(cloned),
      producer.send(packed.slice(0, 150)),
      producer.send(packed.slice(150)),
    ]);
    await producer.close();
    // sends of 120 (the most one send takes here) went to the thread, the rest (62 left) stayed
    const sizes = (spy: typeof local) => spy.mock.calls.map(([record]) => record.messages.length);
    const first = onThread.mock.calls[0]?.[0].messages ?? [];
    expect(first.filter((m) => m.headers !== undefined || m.timestamp !== undefined)).toHaveLength(2);
    expect(sizes(onThread).every((n) => n >= 100)).toBe(true);
    expect(sizes(local).every((n) => n < 100)).toBe(true);
    expect([...sizes(onThread), ...sizes(local)].reduce((a, b) => a + b)).toBe(packed.length + cloned.length);
    expect(sizes(onThread).length).toBeGreaterThan(0);

    const got = await readAll(packed.length + cloned.length);
    const seen = got.map((m) => ({ key: m.key?.toString('latin1'), value: m.value?.toString() ?? null }));
    const expected = [
      ...packed.map((m) => ({ key: m.key, value: m.value?.toString() ?? null })),
      { key: '\u0000\u0001\u0002', value: 'with headers' },
      { key: 'stamped', value: 'with a timestamp' },
    ];
    const order = (a: { key?: string; value: string | null }, b: typeof a) =>
      `${a.key}|${a.value}`.localeCompare(`${b.key}|${b.value}`);
    expect(seen.sort(order)).toEqual(expected.sort(order));
    const withHeaders = got.find((m) => m.value?.toString() === 'with headers');
    expect(withHeaders?.headers?.h?.toString()).toBe('v');
    expect([...((withHeaders?.headers?.bin as Buffer | undefined) ?? [])]).toEqual([1, 2]);
    expect(got.find((m) => m.value?.toString() === 'with a timestamp')?.timestamp).toBe('1000');
  });

  it('rejects with the error kafkajs raised on the thread (an unknown topic), by name and message', async () => {
    const producer = new ThreadProducer({ connection: config });
    await producer.connect();
    const error = await producer
      .send({
        topic: uniqueName('no_such_topic'),
        acks: -1,
        timeout: 2000,
        messages: [{ key: 'k', value: Buffer.from('v') }],
      })
      .then(
        () => undefined,
        (e: Error) => e,
      );
    await producer.disconnect();
    expect(error).toBeInstanceOf(Error);
    expect(error?.name).toMatch(/^KafkaJS/);
    expect(error?.message).toMatch(/topic|partition|leader/i);
  });

  it('refuses every send once its thread has stopped', async () => {
    const producer = new ThreadProducer({ connection: config });
    await producer.connect();
    await producer.disconnect();
    await expect(producer.send({ topic, messages: [{ key: 'k', value: Buffer.from('v') }] })).rejects.toThrow(
      /thread exited/,
    );
  });
});
