import { type PrismaClient, sessionRulesOf } from '@tracker/db';
import type { InteractionSerde } from '@tracker/kafka';
import type { Logger } from '@tracker/logger';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { ProcessorConfig } from '../config.js';
import type { ProcessorMetrics } from '../metrics.js';
import { BatchHandler, type DeadLetterSink, type PreparedBatch } from './batch-handler.js';
import { PendingCommits } from './pending-commits.js';
import { OutageClock, OutageTooLongError, RetryAbortedError } from './retry.js';
import { StoreQueue } from './store-queue.js';

/** A failed commit is tried again this much later (and after the next join). */
const COMMIT_RETRY_MS = 2_000;

/** How often `group_join_waiting` is logged while the consumer waits for its partitions. */
const JOIN_WAITING_LOG_MS = 10_000;

export interface ProcessorServiceOptions {
  kafka: Kafka;
  prisma: PrismaClient;
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
 * autoCommit off). start() joins in the background (notReady says why it is not consuming yet);
 * stop() lets the batch in flight finish and commit, then leaves the group.
 */
export class ProcessorService {
  readonly consumer: Consumer;
  readonly handler: BatchHandler;
  readonly #abort = new AbortController();
  readonly #queue: StoreQueue;
  readonly #pendingCommits = new PendingCommits();
  /** The partitions of the last join (topic → partitions). */
  #assignment: Record<string, number[]> = {};
  #commitRetry: NodeJS.Timeout | undefined;
  /** Why the consumer is not consuming, undefined while it is a member with its assignment. */
  #notReady: string | undefined = 'not started';
  /** Since when it waits to (re)join the group (group_join_waiting), undefined when it does not. */
  #waitingSince: number | undefined;
  #waitingLog: NodeJS.Timeout | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(private readonly o: ProcessorServiceOptions) {
    const c = o.config;
    this.consumer = o.kafka.consumer({
      groupId: c.PROCESSOR_GROUP_ID,
      sessionTimeout: c.PROCESSOR_SESSION_TIMEOUT_MS,
      heartbeatInterval: c.PROCESSOR_HEARTBEAT_INTERVAL_MS,
      maxBytesPerPartition: c.PROCESSOR_MAX_BYTES_PER_PARTITION,
      maxBytes: c.PROCESSOR_MAX_BYTES_PER_FETCH,
      allowAutoTopicCreation: false,
      // kafkajs' default (5 retries), but no restart once stopping: a join cut short by stop()
      // would otherwise reconnect and join again after the consumer was disconnected.
      retry: { retries: 5, restartOnFailure: async () => !this.#stopping },
    });
    this.handler = new BatchHandler({
      prisma: o.prisma,
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
      sessionRules: sessionRulesOf(c.TRACKER_SESSION_GAP_MINUTES),
    });
    this.#queue = new StoreQueue(c.PROCESSOR_PARTITIONS_CONCURRENTLY, (error) => this.#onStoreFailure(error));
    const { GROUP_JOIN, REBALANCING, CRASH, STOP } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      this.#notReady = undefined;
      this.#waitingSince = undefined;
      const assigned = Object.fromEntries(
        Object.entries(e.payload.memberAssignment).map(([t, ps]) => [t, ps.length]),
      );
      o.logger.info({
        msg: 'group_joined',
        groupId: e.payload.groupId,
        memberId: e.payload.memberId,
        assigned,
      });
      this.#assignment = e.payload.memberAssignment;
      if (this.#pendingCommits.size > 0) void this.#retryFailedCommits(this.#assignment);
    });
    this.consumer.on(REBALANCING, () => this.#waiting('rebalancing: waiting for partition assignment'));
    this.consumer.on(STOP, () => {
      this.#notReady = 'stopped';
    });
    this.consumer.on(CRASH, (e) => {
      if (this.#stopping) return;
      // kafkajs restarts the consumer by itself after a retriable error: a warning, not an error.
      const level = e.payload.restart ? 'warn' : 'error';
      o.logger[level]({ msg: 'consumer_crashed', err: e.payload.error.message, restart: e.payload.restart });
      if (e.payload.restart) this.#waiting('consumer restarting after an error');
      else o.onFatal(e.payload.error);
    });
  }

  /**
   * Why the consumer is not consuming (e.g. "waiting for partition assignment"); undefined while it
   * is a member of its group with its partitions (readiness).
   */
  get notReady(): string | undefined {
    return this.#stopping ? 'stopping' : this.#notReady;
  }

  /**
   * Connects, subscribes and joins the group in the background, and returns at once.
   * NOTE: the join waits until every member the broker knows rejoins or times out: a processor that
   * died without leaving (SIGKILL, OOM, the broker stopped first; the broker keeps such a member
   * across its own restart) holds it up for PROCESSOR_SESSION_TIMEOUT_MS, more than any start-up
   * hook may take. A failure to connect or subscribe is fatal (onFatal), after kafkajs' retries.
   */
  start(): void {
    this.#starting ??= this.#start().catch((error: Error) => {
      if (this.#stopping) return;
      this.o.logger.fatal({ msg: 'consumer_start_failed', err: error.message });
      this.o.onFatal(error);
    });
  }

  async #start(): Promise<void> {
    const c = this.o.config;
    this.#notReady = 'connecting to Kafka';
    this.#waitingLog = setInterval(() => this.#logWaiting(), JOIN_WAITING_LOG_MS).unref();
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: [c.PROCESSOR_TOPIC, c.PROCESSOR_API_HITS_TOPIC],
      fromBeginning: c.PROCESSOR_FROM_BEGINNING,
    });
    if (this.#stopping) return;
    this.#waiting('waiting for partition assignment');
    this.o.logger.info({
      msg: 'consumer_started',
      groupId: c.PROCESSOR_GROUP_ID,
      topics: [c.PROCESSOR_TOPIC, c.PROCESSOR_API_HITS_TOPIC],
    });
    // Resolves once joined (or once a failed join was handed to the CRASH listener).
    await this.consumer.run({
      eachBatchAutoResolve: false,
      autoCommit: false,
      partitionsConsumedConcurrently: c.PROCESSOR_PARTITIONS_CONCURRENTLY,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  #waiting(reason: string): void {
    this.#notReady = reason;
    this.#waitingSince ??= Date.now();
  }

  /** Now and then while it waits: a join held up by a member that died shows in the log. */
  #logWaiting(): void {
    if (this.#waitingSince === undefined || this.#stopping) return;
    this.o.logger.info({
      msg: 'group_join_waiting',
      groupId: this.o.config.PROCESSOR_GROUP_ID,
      reason: this.#notReady,
      waitingMs: Date.now() - this.#waitingSince,
      sessionTimeoutMs: this.o.config.PROCESSOR_SESSION_TIMEOUT_MS,
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

  /**
   * Called by a queued batch once stored. A failed commit is made good by the partition's next one,
   * or tried again once the consumer has rejoined (PendingCommits).
   */
  async #commit(topic: string, partition: number, offset: string): Promise<void> {
    try {
      await this.consumer.commitOffsets([{ topic, partition, offset }]);
      this.#pendingCommits.committed({ topic, partition, offset });
    } catch (error) {
      this.#pendingCommits.failed({ topic, partition, offset });
      this.o.logger.warn({ msg: 'commit_failed', topic, partition, offset, err: (error as Error).message });
      // Also a little later, in case the join that follows a rebalance came before this failure.
      this.#commitRetry ??= setTimeout(() => {
        this.#commitRetry = undefined;
        if (!this.#stopping) void this.#retryFailedCommits(this.#assignment);
      }, COMMIT_RETRY_MS).unref();
    }
  }

  /** After a (re)join: the commits that failed for partitions this member still owns, again. */
  async #retryFailedCommits(assignment: Record<string, number[]>): Promise<void> {
    for (const p of this.#pendingCommits.takeFor(assignment)) {
      this.o.logger.info({ msg: 'commit_retried', ...p });
      await this.#commit(p.topic, p.partition, p.offset);
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
      clearInterval(this.#waitingLog);
      // Batches being stored finish (or, waiting out an outage, give up) and commit while the
      // consumer still runs; those still queued are dropped (not committed: read again later).
      await this.#queue.close();
      const disconnected = this.consumer.disconnect();
      // NOTE: kafkajs' disconnect waits for the requests in flight, and a join held up by a member
      // that died answers only when that member's session times out. Waiting to join, nothing is
      // being stored or committed: do not wait for it (the broker drops this member in its turn).
      const joining = this.#waitingSince !== undefined;
      if (joining) disconnected.catch(() => {});
      else await disconnected;
      this.o.logger.info({ msg: 'consumer_stopped', joining });
    })();
    return this.#stopping;
  }
}
