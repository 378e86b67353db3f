import { randomUUID } from 'node:crypto';
import { InteractionSerde } from '@tracker/kafka';
import type { Logger } from '@tracker/logger';
import { DLQ_HEADERS } from '@tracker/schemas';
import type { Admin, Consumer, IHeaders, Kafka, KafkaMessage } from 'kafkajs';

/** One dead-lettered message, decoded for people. */
export interface DlqMessage {
  partition: number;
  offset: string;
  /** When the message was written to the dead-letter topic (broker/producer timestamp). */
  timestamp: string;
  key: string | null;
  reason: string | null;
  step: string | null;
  source: { topic: string | null; partition: number | null; offset: string | null };
  /** The dlq-time header as sent by the processor. */
  deadLetteredAt: string | null;
  /** The original value: its size, the schema id when it is in the Avro wire format, and a preview. */
  value: { bytes: number; schemaId: number | null; preview: string; encoding: 'utf8' | 'base64' };
}

export interface DlqSnapshot {
  topic: string;
  /** Dead-lettered messages the topic still holds (sum of high - low watermarks). */
  count: number;
  partitions: { partition: number; low: string; high: string }[];
  /** The most recent messages, newest first. */
  messages: DlqMessage[];
  /** False when the read did not catch up with the topic within the time limit. */
  complete: boolean;
}

const PREVIEW_BYTES = 512;

function header(headers: IHeaders | undefined, name: string): string | null {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null) return null;
  return Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

function preview(value: Buffer): { preview: string; encoding: 'utf8' | 'base64' } {
  const head = value.subarray(0, PREVIEW_BYTES);
  const text = head.toString('utf8');
  // Text (JSON, CSV lines) reads as text; binary (Avro, garbage) as base64.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what marks binary
  const binary = text.includes('\uFFFD') || /[\u0000-\u0008\u000E-\u001F]/.test(text);
  return binary
    ? { preview: head.toString('base64'), encoding: 'base64' }
    : { preview: text, encoding: 'utf8' };
}

export function decodeDlqMessage(partition: number, message: KafkaMessage): DlqMessage {
  const value = message.value ?? Buffer.alloc(0);
  const partitionHeader = header(message.headers, DLQ_HEADERS.partition);
  const sourcePartition =
    partitionHeader !== null && /^\d+$/.test(partitionHeader) ? Number(partitionHeader) : null;
  return {
    partition,
    offset: message.offset,
    timestamp: new Date(Number(message.timestamp)).toISOString(),
    key: message.key ? message.key.toString('utf8') : null,
    reason: header(message.headers, DLQ_HEADERS.reason),
    step: header(message.headers, DLQ_HEADERS.step),
    source: {
      topic: header(message.headers, DLQ_HEADERS.topic),
      partition: sourcePartition,
      offset: header(message.headers, DLQ_HEADERS.offset),
    },
    deadLetteredAt: header(message.headers, DLQ_HEADERS.time),
    value: { bytes: value.length, schemaId: InteractionSerde.schemaIdOf(value) ?? null, ...preview(value) },
  };
}

export interface DlqReaderOptions {
  topic: string;
  /** Upper bound on the time one snapshot waits for the tail to catch up. */
  timeoutMs: number;
  /** How many recent messages are kept (the largest `limit` a caller may ask for). */
  capacity: number;
  /** How long a snapshot's offsets are reused. */
  cacheMs: number;
  log: Logger;
}

/**
 * Reads the dead-letter topic without a committed consumer group: the watermarks come from the
 * admin client; the most recent messages from one tailing consumer per process (a throwaway group
 * id, auto-commit off, seeked to the last `capacity` offsets of each partition), started on first
 * use so the service never needs Kafka to serve anything else.
 */
export class DlqReader {
  #admin: Admin | undefined;
  #adminReady: Promise<void> | undefined;
  #consumer: Consumer | undefined;
  #consumerReady: Promise<void> | undefined;
  #groupId = '';
  /** Next offset to read per partition (as consumed by the tail). */
  #positions = new Map<number, bigint>();
  /** Recent messages by partition:offset (a restarted tail may read some again). */
  #recent = new Map<string, DlqMessage>();
  #cached: { at: number; value: Omit<DlqSnapshot, 'messages' | 'complete'> } | undefined;
  #closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: DlqReaderOptions,
  ) {}

  async #adminClient(): Promise<Admin> {
    if (!this.#admin) {
      this.#admin = this.kafka.admin({ retry: { retries: 1 } });
      this.#adminReady = this.#admin.connect().catch((error) => {
        this.#admin = undefined;
        throw error;
      });
    }
    const admin = this.#admin;
    await this.#adminReady;
    return admin;
  }

  async #watermarks(): Promise<Omit<DlqSnapshot, 'messages' | 'complete'>> {
    if (this.#cached && Date.now() - this.#cached.at < this.opts.cacheMs) return this.#cached.value;
    const admin = await this.#adminClient();
    const topics = await admin.listTopics();
    let partitions: DlqSnapshot['partitions'] = [];
    if (topics.includes(this.opts.topic)) {
      const offsets = await admin.fetchTopicOffsets(this.opts.topic);
      partitions = offsets
        .map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
        .sort((a, b) => a.partition - b.partition);
    }
    const count = partitions.reduce((sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)), 0);
    const value = { topic: this.opts.topic, count, partitions };
    this.#cached = { at: Date.now(), value };
    return value;
  }

  #startTail(partitions: DlqSnapshot['partitions']): Promise<void> {
    if (this.#consumerReady) return this.#consumerReady;
    this.#groupId = `tracker-query-dlq-${randomUUID()}`;
    const consumer = this.kafka.consumer({
      groupId: this.#groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 500,
      sessionTimeout: 30_000,
      retry: { retries: 3 },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart) return;
      this.opts.log.warn({ msg: 'dlq_tail_crashed', err: event.payload.error.message });
      // The next request starts a new tail.
      this.#consumer = undefined;
      this.#consumerReady = undefined;
      void consumer.disconnect().catch(() => {});
    });
    this.#consumerReady = (async () => {
      await consumer.connect();
      await consumer.subscribe({ topic: this.opts.topic, fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          this.#remember(decodeDlqMessage(partition, message));
          this.#positions.set(partition, BigInt(message.offset) + 1n);
        },
      });
      // NOTE: seeks are queued until the partition is assigned, then applied before its first fetch;
      // with auto-commit off nothing is ever committed for this group.
      for (const p of partitions) {
        const start = BigInt(p.high) - BigInt(this.opts.capacity);
        const from = start > BigInt(p.low) ? start : BigInt(p.low);
        consumer.seek({ topic: this.opts.topic, partition: p.partition, offset: from.toString() });
      }
      this.opts.log.info({ msg: 'dlq_tail_started', topic: this.opts.topic, group: this.#groupId });
    })().catch((error) => {
      this.#consumer = undefined;
      this.#consumerReady = undefined;
      void consumer.disconnect().catch(() => {});
      throw error;
    });
    return this.#consumerReady;
  }

  #remember(message: DlqMessage) {
    this.#recent.set(`${message.partition}:${message.offset}`, message);
    if (this.#recent.size > this.opts.capacity * 2) {
      const keep = [...this.#recent.values()].sort(newestFirst).slice(0, this.opts.capacity);
      this.#recent = new Map(keep.map((m) => [`${m.partition}:${m.offset}`, m]));
    }
  }

  #caughtUp(partitions: DlqSnapshot['partitions']): boolean {
    return partitions.every((p) => {
      if (BigInt(p.high) <= BigInt(p.low)) return true;
      return (this.#positions.get(p.partition) ?? -1n) >= BigInt(p.high);
    });
  }

  /** Count and most recent messages; bounded by the configured time limit. */
  async snapshot(limit: number): Promise<DlqSnapshot> {
    if (this.#closed) throw new Error('DLQ reader is closed');
    const deadline = Date.now() + this.opts.timeoutMs;
    const marks = await withDeadline(this.#watermarks(), deadline, 'reading the dead-letter topic offsets');
    let complete = true;
    if (marks.count > 0) {
      await withDeadline(this.#startTail(marks.partitions), deadline, 'joining the dead-letter topic');
      while (!this.#caughtUp(marks.partitions) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      complete = this.#caughtUp(marks.partitions);
    }
    const messages = [...this.#recent.values()].sort(newestFirst).slice(0, limit);
    return { ...marks, messages, complete };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const consumer = this.#consumer;
    this.#consumer = undefined;
    if (consumer) {
      await consumer.disconnect().catch(() => {});
      // The group never committed anything; remove it rather than leave it to expire.
      await this.#admin?.deleteGroups([this.#groupId]).catch(() => {});
    }
    await this.#admin?.disconnect().catch(() => {});
    this.#admin = undefined;
  }
}

function newestFirst(a: DlqMessage, b: DlqMessage): number {
  const t = Date.parse(b.timestamp) - Date.parse(a.timestamp);
  if (t !== 0) return t;
  if (a.partition !== b.partition) return a.partition - b.partition;
  return Number(BigInt(b.offset) - BigInt(a.offset));
}

/** Rejects with a timeout error when `promise` does not settle before `deadline` (epoch ms). */
async function withDeadline<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new DlqTimeoutError(`timed out ${what}`)),
          Math.max(0, deadline - Date.now()),
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export class DlqTimeoutError extends Error {
  override name = 'DlqTimeoutError';
}
