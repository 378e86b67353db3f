import type { pg } from '@tracker/db';
import type { InteractionSerde } from '@tracker/kafka';
import type { Logger } from '@tracker/logger';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { ProcessorConfig } from '../config.js';
import type { ProcessorMetrics } from '../metrics.js';
import { BatchHandler, type DeadLetterSink, type PreparedBatch } from './batch-handler.js';
import { OutageClock, OutageTooLongError, RetryAbortedError } from './retry.js';
import { StoreQueue } from './store-queue.js';

export interface ProcessorServiceOptions {
  kafka: Kafka;
  pool: pg.Pool;
  serde: InteractionSerde;
  dlq: DeadLetterSink;
  metrics: ProcessorMetrics;
  logger: Logger;
  config: ProcessorConfig;
  /** The process cannot go on (outage past PROCESSOR_MAX_RETRY_MS, consumer crashed for good). */
  onFatal: (error: Error) => void;
}

/**
 * The consumer group member: subscribes to the interactions and api-hits topics and hands each
 * batch to BatchHandler with manual offset resolution and commits (eachBatchAutoResolve and
 * autoCommit off). stop() lets the batch in flight finish and commit, then leaves the group.
 */
export class ProcessorService {
  readonly consumer: Consumer;
  readonly handler: BatchHandler;
  readonly #abort = new AbortController();
  readonly #queue: StoreQueue;
  #joined = false;
  #running = false;
  #stopping: Promise<void> | undefined;

  constructor(private readonly o: ProcessorServiceOptions) {
    const c = o.config;
    this.consumer = o.kafka.consumer({
      groupId: c.PROCESSOR_GROUP_ID,
      sessionTimeout: c.PROCESSOR_SESSION_TIMEOUT_MS,
      heartbeatInterval: c.PROCESSOR_HEARTBEAT_INTERVAL_MS,
      maxBytesPerPartition: c.PROCESSOR_MAX_BYTES_PER_PARTITION,
      allowAutoTopicCreation: false,
    });
    this.handler = new BatchHandler({
      pool: o.pool,
      serde: o.serde,
      dlq: o.dlq,
      metrics: o.metrics,
      logger: o.logger,
      apiHitsTopic: c.PROCESSOR_API_HITS_TOPIC,
      groupId: c.PROCESSOR_GROUP_ID,
      backoff: {
        initialMs: c.PROCESSOR_RETRY_INITIAL_MS,
        maxDelayMs: c.PROCESSOR_RETRY_MAX_DELAY_MS,
        maxTotalMs: c.PROCESSOR_MAX_RETRY_MS,
      },
      clock: new OutageClock(),
      signal: this.#abort.signal,
    });
    this.#queue = new StoreQueue(c.PROCESSOR_PARTITIONS_CONCURRENTLY, (error) => this.#onStoreFailure(error));
    const { GROUP_JOIN, REBALANCING, CRASH, STOP } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      this.#joined = true;
      const assigned = Object.fromEntries(
        Object.entries(e.payload.memberAssignment).map(([t, ps]) => [t, ps.length]),
      );
      o.logger.info({
        msg: 'group_joined',
        groupId: e.payload.groupId,
        memberId: e.payload.memberId,
        assigned,
      });
    });
    this.consumer.on(REBALANCING, () => {
      this.#joined = false;
    });
    this.consumer.on(STOP, () => {
      this.#joined = false;
    });
    this.consumer.on(CRASH, (e) => {
      this.#joined = false;
      o.logger.error({ msg: 'consumer_crashed', err: e.payload.error.message, restart: e.payload.restart });
      if (!e.payload.restart && !this.#stopping) o.onFatal(e.payload.error);
    });
  }

  /** Consuming and a member of the group (readiness). */
  get ready(): boolean {
    return this.#running && this.#joined && !this.#stopping;
  }

  async start(): Promise<void> {
    const c = this.o.config;
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: [c.PROCESSOR_TOPIC, c.PROCESSOR_API_HITS_TOPIC],
      fromBeginning: c.PROCESSOR_FROM_BEGINNING,
    });
    await this.consumer.run({
      eachBatchAutoResolve: false,
      autoCommit: false,
      partitionsConsumedConcurrently: c.PROCESSOR_PARTITIONS_CONCURRENTLY,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    this.#running = true;
    this.o.logger.info({
      msg: 'consumer_started',
      groupId: c.PROCESSOR_GROUP_ID,
      topics: [c.PROCESSOR_TOPIC, c.PROCESSOR_API_HITS_TOPIC],
    });
  }

  /**
   * Decodes the batch, then queues it to be stored and returns, so that kafkajs fetches the next
   * batches while this one is written (kafkajs fetches again only once every batch of a fetch has
   * been handed over). Batches are stored PROCESSOR_PARTITIONS_CONCURRENTLY at a time, a partition's
   * in the order they came, and each one's offset is committed after it is stored (StoreQueue). While
   * as many batches wait as are being stored, the next one waits here.
   */
  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    let prepared: PreparedBatch | null;
    try {
      prepared = await this.handler.prepare(payload);
    } catch (error) {
      this.#fatalIfOutage(error);
      throw error;
    }
    if (!prepared || this.#stopping) return;
    const batch = prepared;
    // While waiting for room, a failed heartbeat (a rebalance) ends this call: the batch is not
    // queued and kafkajs rejoins at once (the batch is read again).
    const accepted = await this.#queue.add(`${batch.topic}:${batch.partition}`, payload.heartbeat, () =>
      this.handler.complete(batch, (topic, partition, offset) => this.#commit(topic, partition, offset)),
    );
    // The next fetch of this partition starts after the batch (nothing is committed by this).
    if (accepted) payload.resolveOffset(batch.last);
  }

  /** Called by a queued batch once stored. A failed commit is made good by the partition's next one. */
  async #commit(topic: string, partition: number, offset: string): Promise<void> {
    try {
      await this.consumer.commitOffsets([{ topic, partition, offset }]);
    } catch (error) {
      this.o.logger.warn({ msg: 'commit_failed', topic, partition, offset, err: (error as Error).message });
    }
  }

  #fatalIfOutage(error: unknown): void {
    if (error instanceof OutageTooLongError) {
      this.o.logger.fatal({
        msg: 'outage_too_long',
        dependency: error.what,
        elapsedMs: error.elapsedMs,
        err: error.message,
      });
      this.o.onFatal(error);
    }
  }

  /** A queued batch failed: its partition's later batches were not stored or committed. */
  #onStoreFailure(error: unknown): void {
    if (error instanceof RetryAbortedError) return; // shutdown: nothing committed, read again later
    this.#fatalIfOutage(error);
    if (error instanceof OutageTooLongError) return;
    // NOTE: not an outage (those are retried above): a bug. The process exits rather than commit the
    // partition's later batches past one that was not stored; what was not committed is read again.
    this.o.logger.fatal({ msg: 'store_failed', err: (error as Error).message });
    this.o.onFatal(error as Error);
  }

  /**
   * Idempotent. The batch in flight finishes and commits (a batch waiting out an outage gives up,
   * committing nothing), then the consumer leaves the group and disconnects.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#abort.abort();
      // Batches being stored finish (or, waiting out an outage, give up) and commit while the
      // consumer still runs; those still queued are dropped (not committed: read again later).
      await this.#queue.close();
      await this.consumer.disconnect();
      this.#running = false;
      this.o.logger.info({ msg: 'consumer_stopped' });
    })();
    return this.#stopping;
  }
}
