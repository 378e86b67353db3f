import type { Logger } from '@tracker/logger';
import type { IHeaders, Kafka, ProducerConfig } from 'kafkajs';
import { JavaCompatiblePartitioner } from './partitioner.js';
import {
  type ProducerLike,
  type ProducerThreadOptions,
  SplitProducer,
  ThreadProducer,
} from './producer-thread.js';

/** The broker did not acknowledge in time or is known to be down: answer 503, never 202. */
export class BrokerUnavailableError extends Error {
  override name = 'BrokerUnavailableError';
}

/** More bytes wait for Kafka's acknowledgement than maxQueuedBytes: refused, nothing was sent. */
export class ProducerBusyError extends Error {
  override name = 'ProducerBusyError';
}

export interface OutgoingMessage {
  /** Usually a string (userId); Buffer or null to forward a message as it was (dead-lettering). */
  key: string | Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
}

export interface BatchingProducerOptions {
  topic: string;
  /** How long the first message of a batch waits for company. Default 5 ms. */
  lingerMs?: number;
  /** Flush at once when this many messages wait. Default 2000. */
  maxBatchMessages?: number;
  /**
   * Most bytes (keys, values, headers) in one send. Default 900 000: under the broker's 1 MB per
   * record batch (message.max.bytes), which a send to one partition must fit in. A caller's messages
   * may be split across several sends; its promise settles with the last of them.
   */
  maxBatchBytes?: number;
  /** A send not acknowledged within this many ms fails with BrokerUnavailableError. Default 5000. */
  timeoutMs?: number;
  /**
   * Most bytes (messageBytes) accepted and not yet acknowledged; a send that would go past it fails
   * with ProducerBusyError (a send is always taken while nothing waits; an `unbounded` send always,
   * though its bytes count). Default: no limit.
   */
  maxQueuedBytes?: number;
  /** While unhealthy, how often to check whether the broker is back. Default 1000 ms. */
  probeIntervalMs?: number;
  logger?: Logger;
  /** Called with the size and duration of every acknowledged batch (metrics). */
  onBatch?: (messages: number, ms: number) => void;
  /**
   * Send large batches through a kafkajs producer on a worker thread (ThreadProducer) connected with
   * these settings, the others through `kafka`, the client of the caller's thread (SplitProducer).
   */
  thread?: ProducerThreadOptions;
}

/** The kafkajs producer settings of every BatchingProducer, in-thread or on its own thread. */
export function producerConfig(): ProducerConfig {
  return {
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // kafkajs' default choices, computed without its emulated 64-bit arithmetic (partitioner.ts).
    createPartitioner: JavaCompatiblePartitioner,
    // NOTE: kafkajs retries an idempotent producer forever by default; we bound it so an outage
    // surfaces as 503 within timeoutMs instead of a request that never ends.
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
  };
}

interface Pending {
  messages: OutgoingMessage[];
  /** Index of the first message not yet taken into a send. */
  next: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Bytes a message adds to a send: key, value and headers, plus the record's own framing. */
export function messageBytes(m: OutgoingMessage): number {
  let n =
    32 +
    (m.value?.length ?? 0) +
    (m.key === null ? 0 : typeof m.key === 'string' ? Buffer.byteLength(m.key) : m.key.length);
  if (m.headers) {
    for (const [k, v] of Object.entries(m.headers)) {
      n += Buffer.byteLength(k) + 8;
      for (const part of Array.isArray(v) ? v : [v]) {
        n += part === undefined ? 0 : typeof part === 'string' ? Buffer.byteLength(part) : part.length;
      }
    }
  }
  return n;
}

/**
 * An idempotent acks=all producer that batches messages from concurrent callers: calls made within
 * `lingerMs` of each other, or while the previous batch is in flight, go to the broker in one request.
 * Each caller's promise settles only when the broker has acknowledged its messages.
 *
 * Fails fast: after a failed send it is unhealthy, rejects new sends at once, and probes the broker
 * in the background until it answers again (no restart needed).
 */
export class BatchingProducer {
  #producer: ProducerLike;
  #queue: Pending[] = [];
  #queued = 0;
  /** Bytes of the messages accepted and not yet settled (maxQueuedBytes). */
  #outstandingBytes = 0;
  /** Callers in the last batch sent (the linger ends early once as many are queued). */
  #lastCallers = Number.POSITIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #healthy = false;
  #probeTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #opts: Required<Omit<BatchingProducerOptions, 'logger' | 'onBatch' | 'thread'>> &
    Pick<BatchingProducerOptions, 'logger' | 'onBatch' | 'thread'>;

  constructor(
    readonly kafka: Kafka,
    options: BatchingProducerOptions,
  ) {
    this.#opts = {
      lingerMs: 5,
      maxBatchMessages: 2000,
      maxBatchBytes: 900_000,
      timeoutMs: 5000,
      maxQueuedBytes: Number.POSITIVE_INFINITY,
      probeIntervalMs: 1000,
      ...options,
    };
    this.#producer = this.#createProducer();
  }

  /** The producer in use (a new one after every outage, see the probe). */
  get producer(): ProducerLike {
    return this.#producer;
  }

  #createProducer(): ProducerLike {
    const thread = this.#opts.thread;
    const local = this.kafka.producer(producerConfig());
    return thread ? new SplitProducer(local, new ThreadProducer(thread), thread.minMessages ?? 500) : local;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  async connect(): Promise<void> {
    try {
      await this.#producer.connect();
      this.#healthy = true;
    } catch (error) {
      this.#markUnhealthy(error as Error);
      throw error;
    }
  }

  /** Resolves once the broker acknowledged every message; rejects with BrokerUnavailableError otherwise. */
  send(messages: OutgoingMessage[], options: { unbounded?: boolean } = {}): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    if (this.#closed) return Promise.reject(new BrokerUnavailableError('producer is shutting down'));
    if (!this.#healthy) return Promise.reject(new BrokerUnavailableError('Kafka broker is unavailable'));
    let bytes = 0;
    if (Number.isFinite(this.#opts.maxQueuedBytes)) {
      for (const m of messages) bytes += messageBytes(m);
      if (
        !options.unbounded &&
        this.#outstandingBytes > 0 &&
        this.#outstandingBytes + bytes > this.#opts.maxQueuedBytes
      )
        return Promise.reject(
          new ProducerBusyError(
            `${this.#outstandingBytes} bytes already wait for Kafka's acknowledgement (limit ${this.#opts.maxQueuedBytes})`,
          ),
        );
      this.#outstandingBytes += bytes;
    }
    const sent = new Promise<void>((resolve, reject) => {
      this.#queue.push({ messages, next: 0, resolve, reject });
      this.#queued += messages.length;
      // As many callers as the last batch had are back: waiting longer gains nothing (under a
      // steady load every caller of a batch sends again once answered).
      if (this.#queued >= this.#opts.maxBatchMessages || this.#queue.length >= this.#lastCallers)
        this.#kick(0);
      else this.#kick(this.#opts.lingerMs);
    });
    if (bytes === 0) return sent;
    return sent.finally(() => {
      this.#outstandingBytes -= bytes;
    });
  }

  /** Bytes accepted and not yet acknowledged or failed (bounded by maxQueuedBytes). */
  get outstandingBytes(): number {
    return this.#outstandingBytes;
  }

  #kick(delay: number): void {
    if (this.#inFlight) return; // the in-flight batch flushes the queue when it ends
    if (delay === 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#inFlight = this.#flush();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#inFlight = this.#flush();
    }, delay);
  }

  /**
   * The next send: messages from the head of the queue up to maxBatchMessages and maxBatchBytes (at
   * least one), taking callers whole where they fit and splitting one that does not. `done` are the
   * callers whose last message is in it.
   */
  #take(): { messages: OutgoingMessage[]; batch: Pending[]; done: Pending[] } {
    const messages: OutgoingMessage[] = [];
    const batch: Pending[] = [];
    const done: Pending[] = [];
    let bytes = 0;
    while (this.#queue.length > 0 && messages.length < this.#opts.maxBatchMessages) {
      const p = this.#queue[0]!;
      const from = p.next;
      while (p.next < p.messages.length && messages.length < this.#opts.maxBatchMessages) {
        const size = messageBytes(p.messages[p.next]!);
        if (messages.length > 0 && bytes + size > this.#opts.maxBatchBytes) break;
        bytes += size;
        messages.push(p.messages[p.next]!);
        p.next += 1;
      }
      if (p.next > from) batch.push(p);
      if (p.next < p.messages.length) break; // the send is full
      this.#queue.shift();
      done.push(p);
    }
    return { messages, batch, done };
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const { messages, batch, done } = this.#take();
      const count = messages.length;
      this.#lastCallers = batch.length;
      this.#queued -= count;
      const started = performance.now();
      try {
        await this.#sendWithTimeout(messages);
        this.#opts.onBatch?.(count, performance.now() - started);
        for (const p of done) p.resolve();
      } catch (error) {
        this.#markUnhealthy(error as Error);
        const failure =
          error instanceof BrokerUnavailableError
            ? error
            : new BrokerUnavailableError(`Kafka did not acknowledge: ${(error as Error).message}`);
        for (const p of batch) p.reject(failure);
        for (const p of this.#queue.splice(0)) p.reject(failure);
        this.#queued = 0;
      }
    }
    this.#inFlight = undefined;
  }

  async #sendWithTimeout(messages: OutgoingMessage[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BrokerUnavailableError(`no acknowledgement within ${this.#opts.timeoutMs} ms`)),
        this.#opts.timeoutMs,
      );
    });
    try {
      await Promise.race([
        this.#producer.send({ topic: this.#opts.topic, acks: -1, timeout: this.#opts.timeoutMs, messages }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  #markUnhealthy(error: Error): void {
    if (this.#healthy) this.#opts.logger?.warn({ msg: 'kafka_unavailable', err: error.message });
    this.#healthy = false;
    if (this.#probeTimer || this.#closed) return;
    const admin = this.kafka.admin({ retry: { retries: 0 } });
    const probe = async () => {
      this.#probeTimer = undefined;
      if (this.#closed) return;
      try {
        await admin.connect();
        await admin.fetchTopicMetadata({ topics: [this.#opts.topic] });
        if (this.#closed) return; // close() came meanwhile and disconnected the producer in use
        // NOTE: the send that failed may have been written all the same (its acknowledgement was
        // lost), and this producer would number the next batch with the same sequence numbers: the
        // broker takes that batch for a retry of the written one and acknowledges it WITHOUT writing
        // it (callers got 202 for events that were never in Kafka; outage e2e test). A new producer
        // gets a new producer id, so its sequence numbers start afresh.
        const stale = this.#producer;
        this.#producer = this.#createProducer();
        await stale.disconnect().catch(() => {});
        await this.#producer.connect();
        if (this.#closed) {
          // close() disconnected it before it was connected: a producer thread would live on
          await this.#producer.disconnect().catch(() => {});
          return;
        }
        this.#healthy = true;
        this.#opts.logger?.info({ msg: 'kafka_available_again' });
      } catch {
        if (!this.#closed) this.#probeTimer = setTimeout(probe, this.#opts.probeIntervalMs);
      } finally {
        await admin.disconnect().catch(() => {});
      }
    };
    this.#probeTimer = setTimeout(probe, this.#opts.probeIntervalMs);
  }

  /** Sends what is queued, then disconnects. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#probeTimer);
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#inFlight ??= this.#flush();
    }
    await this.#inFlight;
    await this.#producer.disconnect();
  }
}
