/**
 * The Kafka producer thread (see ThreadProducer): one kafkajs producer, configured as BatchingProducer
 * configures its own, that sends what the main thread posts and answers each request by id.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from '@tracker/logger';
import type { KafkaConfig, Message } from 'kafkajs';
import { createKafka, type KafkaConnectionConfig } from './client.js';
import { producerConfig } from './producer.js';
import type { ThreadReply, ThreadRequest } from './producer-thread.js';

const port = parentPort!;
const { connection, overrides } = workerData as {
  connection: KafkaConnectionConfig;
  overrides: Partial<KafkaConfig>;
};
const post = (reply: ThreadReply) => port.postMessage(reply);

// kafkajs' log lines go to the main thread's logger, at the level createKafka chose for them.
const forward =
  (level: 'error' | 'warn' | 'info' | 'debug') =>
  (entry: Record<string, unknown>): void =>
    post({ log: { level, entry } });
const logger = {
  error: forward('error'),
  warn: forward('warn'),
  info: forward('info'),
  debug: forward('debug'),
} as unknown as Logger;

const producer = createKafka(connection, logger, overrides).producer(producerConfig());

/** A Buffer again (structured cloning turns Buffers into plain Uint8Arrays, which kafkajs takes for text). */
const bytes = <T>(v: T): T | Buffer =>
  v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.length) : v;

function unpack(request: Extract<ThreadRequest, { op: 'send' }>): Message[] {
  if (request.messages) {
    return request.messages.map((m) => ({
      ...m,
      key: bytes(m.key),
      value: bytes(m.value),
      ...(m.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(m.headers).map(([k, v]) => [k, Array.isArray(v) ? v.map(bytes) : bytes(v)]),
            ),
          }
        : {}),
    })) as Message[];
  }
  const { keys, values, lengths } = request as Required<typeof request>;
  const buffer = Buffer.from(values.buffer, values.byteOffset, values.length);
  const messages: Message[] = new Array(keys.length);
  let at = 0;
  for (let i = 0; i < keys.length; i += 1) {
    const length = lengths[i]!;
    const start = at;
    if (length > 0) at += length;
    messages[i] = { key: keys[i]!, value: length < 0 ? null : buffer.subarray(start, at) };
  }
  return messages;
}

port.on('message', async (request: ThreadRequest) => {
  try {
    if (request.op === 'send') {
      await producer.send({
        topic: request.topic,
        messages: unpack(request),
        ...(request.acks === undefined ? {} : { acks: request.acks }),
        ...(request.timeout === undefined ? {} : { timeout: request.timeout }),
        ...(request.compression === undefined ? {} : { compression: request.compression }),
      });
    } else if (request.op === 'connect') await producer.connect();
    else await producer.disconnect();
    post({ id: request.id, ok: true });
  } catch (error) {
    const e = error as Error;
    post({ id: request.id, ok: false, error: { name: e.name ?? 'Error', message: e.message ?? String(e) } });
  }
});
