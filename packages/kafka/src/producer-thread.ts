import { Worker } from 'node:worker_threads';
import type { Logger } from '@tracker/logger';
import type { KafkaConfig, ProducerRecord } from 'kafkajs';
import type { KafkaConnectionConfig } from './client.js';

/** What BatchingProducer needs of a producer: kafkajs' own, or one running on a worker thread. */
export interface ProducerLike {
  connect(): Promise<void>;
  send(record: ProducerRecord): Promise<unknown>;
  disconnect(): Promise<void>;
}

/** Where the producer thread's kafkajs client connects (its settings must survive structured cloning). */
export interface ProducerThreadOptions {
  connection: KafkaConnectionConfig;
  /** kafkajs client settings on top of the connection (no functions: they cannot reach the thread). */
  overrides?: Partial<KafkaConfig>;
  /** Receives kafkajs' log lines, as createKafka's logger does in-thread. */
  logger?: Logger;
  /**
   * Sends of fewer messages stay on the caller's thread (SplitProducer). Default 500: the hand-over
   * only pays off on large sends (bench: ingest_batch +12% with the thread, ingest_single −20%).
   */
  minMessages?: number;
}

/** main → thread */
export type ThreadRequest =
  | { op: 'connect' | 'disconnect'; id: number }
  | {
      op: 'send';
      id: number;
      topic: string;
      acks: number | undefined;
      timeout: number | undefined;
      compression: ProducerRecord['compression'];
      /** Packed form (every key a string or null, no headers): keys, and values in one buffer. */
      keys?: (string | null)[];
      values?: Uint8Array;
      /** Per message, its value's length in `values` (the values follow each other); -1: a null value. */
      lengths?: Int32Array;
      /** Any other messages, cloned as they are. */
      messages?: ProducerRecord['messages'];
    };

/** thread → main */
export type ThreadReply =
  | { id: number; ok: true }
  | { id: number; ok: false; error: { name: string; message: string } }
  | { log: { level: 'error' | 'warn' | 'info' | 'debug'; entry: Record<string, unknown> } };

/** The worker script (compiled; a test running this file from src uses the build's). */
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? '../dist/producer-worker.js' : './producer-worker.js',
  import.meta.url,
);

/** How long disconnect() waits for kafkajs before the thread is stopped all the same. */
const DISCONNECT_TIMEOUT_MS = 5000;

/**
 * A kafkajs producer on its own worker thread, so that the Kafka protocol work (record batches,
 * CRC-32C, the socket) runs beside the HTTP thread's parsing, validation and Avro encoding instead
 * of after it: on a batch-heavy load this is most of ingest's CPU time (bench: ingest_batch profile).
 * The thread is created by the constructor and stopped by disconnect(); one per producer, so the
 * fresh producer BatchingProducer makes after an outage also gets a fresh thread.
 *
 * Messages cross as one buffer of values plus their keys (a copy of the encoded bytes, no per-message
 * objects); errors come back as their name and message.
 */
export class ThreadProducer implements ProducerLike {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  #nextId = 1;
  #dead: Error | undefined;

  constructor(options: ProducerThreadOptions) {
    this.#worker = new Worker(WORKER_URL, {
      workerData: { connection: options.connection, overrides: options.overrides ?? {} },
    });
    const logger = options.logger;
    this.#worker.on('message', (reply: ThreadReply) => {
      if ('log' in reply) {
        logger?.[reply.log.level](reply.log.entry);
        return;
      }
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (reply.ok) p.resolve();
      else p.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    });
    const fail = (error: Error) => {
      this.#dead ??= error;
      for (const p of this.#pending.values()) p.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', (error) => fail(error));
    this.#worker.on('exit', (code) => fail(new Error(`the Kafka producer thread exited (code ${code})`)));
  }

  connect(): Promise<void> {
    return this.#call({ op: 'connect', id: 0 });
  }

  async send(record: ProducerRecord): Promise<void> {
    const { topic, acks, timeout, compression, messages } = record;
    // Packed: what ingest sends (string keys, Avro values); anything else travels as it is.
    const packable = messages.every(
      (m) =>
        (typeof m.key === 'string' || m.key === null || m.key === undefined) &&
        (m.value === null || Buffer.isBuffer(m.value)) &&
        m.headers === undefined &&
        m.partition === undefined &&
        m.timestamp === undefined,
    );
    const head = { op: 'send', id: 0, topic, acks, timeout, compression } as const;
    if (!packable) return this.#call({ ...head, messages });
    const lengths = new Int32Array(messages.length);
    let size = 0;
    for (const m of messages) size += (m.value as Buffer | null)?.length ?? 0;
    const values = new Uint8Array(size);
    const keys: (string | null)[] = new Array(messages.length);
    let at = 0;
    for (let i = 0; i < messages.length; i += 1) {
      const m = messages[i]!;
      keys[i] = (m.key as string | null | undefined) ?? null;
      const value = m.value as Buffer | null;
      if (value === null) {
        lengths[i] = -1;
        continue;
      }
      lengths[i] = value.length;
      values.set(value, at);
      at += value.length;
    }
    return this.#call({ ...head, keys, values, lengths }, [
      values.buffer as ArrayBuffer,
      lengths.buffer as ArrayBuffer,
    ]);
  }

  /** Disconnects kafkajs (waiting at most 5 s) and stops the thread; never rejects. */
  async disconnect(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      if (this.#dead) return;
      await Promise.race([
        this.#call({ op: 'disconnect', id: 0 }),
        new Promise((resolve) => {
          timer = setTimeout(resolve, DISCONNECT_TIMEOUT_MS);
        }),
      ]);
    } catch {
      // the thread is stopped all the same
    } finally {
      clearTimeout(timer);
      await this.#worker.terminate();
    }
  }

  #call(request: ThreadRequest, transfer: ArrayBuffer[] = []): Promise<void> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...request, id }, transfer);
    });
  }
}

/**
 * Large sends to a ThreadProducer, small ones to a producer on the caller's thread. Under a load of
 * single events (sends of a few dozen messages) the hand-over cost more than it saved; under batches
 * (sends of 2 000) the thread is what lets ingest use a second core.
 *
 * NOTE: two producers (two producer ids, each idempotent with its own sequence numbers) keep the
 * order of a key's messages only because BatchingProducer never has two sends in flight: each send
 * is acknowledged before the next one starts, whichever producer it goes to. When the topic gains
 * partitions, each producer's client sees it at its own metadata refresh (at most 5 minutes apart),
 * and a key's messages may alternate between its old and new partition until both have; nothing
 * downstream depends on that order (the processor's aggregates add up, a user's role is the one of
 * the latest event whatever order events arrive in: MERGE_USER_SEEN in packages/db).
 */
export class SplitProducer implements ProducerLike {
  constructor(
    readonly local: ProducerLike,
    readonly thread: ProducerLike,
    readonly minMessages: number,
  ) {}

  async connect(): Promise<void> {
    await Promise.all([this.local.connect(), this.thread.connect()]);
  }

  send(record: ProducerRecord): Promise<unknown> {
    return record.messages.length >= this.minMessages ? this.thread.send(record) : this.local.send(record);
  }

  async disconnect(): Promise<void> {
    await Promise.allSettled([this.local.disconnect(), this.thread.disconnect()]);
  }
}
