import {
  ensureInteractionPartitions,
  interactionColumns,
  lockUsers,
  type PrismaClient,
  rawRowsFrom,
  recordApiHits,
  recordBatchProgress,
  type SessionRules,
  sqlStateOf,
  storeIdentifies,
  storeInteractions,
  weekStart,
} from '@tracker/db';
import type { InteractionSerde, OutgoingMessage } from '@tracker/kafka';
import type { Logger } from '@tracker/logger';
import type { EachBatchPayload } from 'kafkajs';
import type { ProcessorMetrics } from '../metrics.js';
import {
  type BatchPlan,
  expireBefore,
  expiredPoison,
  halves,
  nextOffset,
  planApiHits,
  planInteractions,
  type StoreItem,
  trackRows,
} from './batch-plan.js';
import { type DecodedInteraction, decodeApiHits, decodeInteraction } from './decode.js';
import { buildDlqMessage } from './dlq.js';
import { type Poison, poison } from './poison.js';
import { type BackoffOptions, classifyDbError, type Failure, type OutageClock, withRetry } from './retry.js';

/** SQLSTATE of a row no partition of interactions takes (check_violation). */
const NO_PARTITION = '23514';

/** How long a batch waits for a connection, and may take in all, before it is rolled back and retried. */
const BATCH_TRANSACTION = { maxWait: 5_000, timeout: 120_000 };

/** Where poison messages go (the DLQ producer). Resolves once the broker has them. */
export interface DeadLetterSink {
  send(messages: OutgoingMessage[]): Promise<void>;
}

export interface BatchHandlerOptions {
  prisma: PrismaClient;
  serde: InteractionSerde;
  dlq: DeadLetterSink;
  metrics: ProcessorMetrics;
  logger: Logger;
  apiHitsTopic: string;
  groupId: string;
  backoff: BackoffOptions;
  clock: OutageClock;
  /** Aborted on shutdown: a batch waiting out an outage gives up (nothing committed). */
  signal: AbortSignal;
  /** How the sessions table splits events into sessions (TRACKER_SESSION_GAP_MINUTES). */
  sessionRules: SessionRules;
}

interface Progress {
  consumerGroup: string;
  topic: string;
  partition: number;
  nextOffset: string;
  size: number;
}

interface Stored {
  /** How the sessions table was kept (storeInteractions' SessionRefresh). */
  sessions: { appended: number; recomputed: number };
  track: number;
  identify: number;
  trackRows: number;
  identifyRows: number;
  newest: Date | null;
  rejected: Poison[];
}

/** A decoded batch waiting to be stored (BatchHandler.prepare, then complete). */
export interface PreparedBatch {
  topic: string;
  partition: number;
  size: number;
  /** Offset of its last message, and the next offset to read after it (what gets committed). */
  last: string;
  next: string;
  plan: BatchPlan;
  /** Keeps the consumer's group membership while the batch waits out an outage. */
  heartbeat: () => Promise<void>;
  decodeMs: number;
}

type Retry = <T>(dependency: string, fn: () => Promise<T>, classify?: (e: unknown) => Failure) => Promise<T>;

/** Messages decoded between two turns of the event loop. */
const DECODE_SLICE = 500;
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

const newer = (a: Date | null, b: Date | null) => (a === null ? b : b === null ? a : a > b ? a : b);

/**
 * One Kafka batch (one partition) end to end: decode (poison set aside), store the good rows in one
 * transaction, dead-letter the poison, then commit the partition's offset (last + 1). Nothing is
 * committed before the rows are durable and the poison is on the dead-letter topic; outages are
 * retried with backoff (the whole batch again: storage is idempotent).
 */
export class BatchHandler {
  /** Newest occurred_at stored so far (the gauge only moves forward). */
  newestMs = 0;
  /** raw_retention.raw_from (ms) as last read: older track rows are dead-lettered as expired. */
  rawFromMs: number | null = null;
  /** Weeks whose raw-row partition this instance has ensured (ensurePartitions asks for the others). */
  readonly knownWeeks = new Set<number>();

  constructor(private readonly o: BatchHandlerOptions) {}

  /**
   * Step 1 of a batch: decode it (poison set aside; a registry outage retries the decoding). Null for
   * an empty batch. What it returns is stored by complete(), which may run after kafkajs has moved on.
   */
  async prepare(payload: EachBatchPayload): Promise<PreparedBatch | null> {
    const { topic, partition, messages } = payload.batch;
    if (messages.length === 0) return null;
    const started = performance.now();
    this.o.metrics.consumed.inc({ topic }, messages.length);
    const retry = this.retrier(topic, partition, payload.heartbeat);
    let plan: BatchPlan;
    if (topic === this.o.apiHitsTopic) {
      plan = planApiHits(messages.map(decodeApiHits));
    } else {
      const decoded = await retry('schema registry', async () => {
        const out: DecodedInteraction[] = [];
        for (const m of messages) {
          out.push(await decodeInteraction(this.o.serde, m));
          // Awaiting a decode only runs microtasks: without a turn of the event loop now and then,
          // the other batches' database replies wait until the whole batch is decoded.
          if (out.length % DECODE_SLICE === 0) await yieldToIo();
        }
        return out;
      });
      plan = planInteractions(decoded, partition);
      expireBefore(plan, this.rawFromMs);
      await yieldToIo();
      // The statement's parameters are built now, while the batch waits for its turn, rather than
      // between its lock and its statement (a transaction open on an idle connection meanwhile).
      plan.trackColumns = interactionColumns(trackRows(plan.items));
    }
    const last = messages[messages.length - 1]!.offset;
    return {
      topic,
      partition,
      size: messages.length,
      last,
      next: nextOffset(last),
      plan,
      // Used after eachBatch has returned: during a rebalance it fails, and the batch goes on.
      heartbeat: () => payload.heartbeat().catch(() => undefined),
      decodeMs: performance.now() - started,
    };
  }

  /**
   * Steps 2-4 of a prepared batch: store the good rows and the partition's progress in one
   * transaction, dead-letter the poison, and only then commit the partition's next offset (`commit`).
   * Nothing is committed before the rows are durable and the poison is on the dead-letter topic;
   * outages are retried with backoff (the whole batch again: storage is idempotent).
   */
  async complete(
    b: PreparedBatch,
    commit: (topic: string, partition: number, offset: string) => Promise<void>,
  ): Promise<void> {
    const started = performance.now();
    const { metrics, logger } = this.o;
    const { topic, partition, plan } = b;
    const retry = this.retrier(topic, partition, b.heartbeat);

    // 2. Store the good rows and the partition's progress in one transaction.
    const progress: Progress = {
      consumerGroup: this.o.groupId,
      topic,
      partition,
      nextOffset: b.next,
      size: b.size,
    };
    await this.ensurePartitions(plan, retry);
    const stored = await this.store(plan, progress, retry);
    const storedAt = performance.now();

    // 3. Dead-letter the poison (the original bytes and headers, plus why).
    const poisonAll = [...plan.poison, ...stored.rejected];
    if (poisonAll.length > 0) {
      const now = new Date();
      await retry('dead-letter topic', () =>
        this.o.dlq.send(poisonAll.map((p) => buildDlqMessage(p, { topic, partition }, now))),
      );
      for (const p of poisonAll) {
        metrics.deadLettered.inc({ reason: p.code });
        logger.warn({
          msg: 'message_dead_lettered',
          topic,
          partition,
          offset: p.message.offset,
          reason: p.code,
          step: p.step,
          detail: p.detail,
        });
      }
    }

    // 4. Only now commit: the next offset to read, for this partition.
    await commit(topic, partition, b.next);

    const kind = topic === this.o.apiHitsTopic ? 'api_hits' : 'track';
    metrics.inserted.inc({ kind: 'track' }, stored.track);
    metrics.inserted.inc({ kind: 'identify' }, stored.identify);
    metrics.duplicates.inc({ kind: 'track' }, stored.trackRows - stored.track);
    metrics.duplicates.inc({ kind: 'identify' }, stored.identifyRows - stored.identify);
    metrics.duplicates.inc({ kind }, plan.duplicatesInBatch);
    metrics.sessions.inc({ how: 'appended' }, stored.sessions.appended);
    metrics.sessions.inc({ how: 'recomputed' }, stored.sessions.recomputed);
    metrics.batchSize.observe(b.size);
    const ms = b.decodeMs + (performance.now() - started);
    metrics.batchDuration.observe(ms / 1000);
    metrics.lastBatch.set(Date.now() / 1000);
    if (stored.newest && stored.newest.getTime() > this.newestMs) {
      this.newestMs = stored.newest.getTime();
      metrics.newestEvent.set(this.newestMs / 1000);
    }
    logger.debug({
      msg: 'batch_committed',
      topic,
      partition,
      offset: b.next,
      rows: b.size,
      inserted: stored.track + stored.identify,
      deadLettered: poisonAll.length,
      ms: Math.round(ms),
      decodeMs: Math.round(b.decodeMs),
      storeMs: Math.round(storedAt - started),
    });
  }

  /**
   * Creates the raw-row partitions the batch's weeks need, in a statement of its own (a transaction
   * that rolls back would take a new partition with it while knownWeeks kept it).
   */
  private async ensurePartitions(plan: BatchPlan, retry: Retry): Promise<void> {
    const missing = [...new Set(trackRows(plan.items).map((r) => weekStart(r.occurredAt)))].filter(
      (w) => !this.knownWeeks.has(w),
    );
    if (missing.length === 0) return;
    await retry('database', () => ensureInteractionPartitions(this.o.prisma, missing), classifyDbError);
    for (const w of missing) this.knownWeeks.add(w);
  }

  /** withRetry for one partition's batch: backoff, outage clock, heartbeats, shutdown, metrics. */
  private retrier(topic: string, partition: number, heartbeat: () => Promise<void>): Retry {
    const { metrics, logger } = this.o;
    return (dependency, fn, classify) =>
      withRetry(fn, {
        what: dependency,
        backoff: this.o.backoff,
        clock: this.o.clock,
        heartbeat,
        signal: this.o.signal,
        ...(classify ? { classify } : {}),
        onRetry: (error, attempt, delayMs) => {
          metrics.retries.inc({ dependency });
          logger.warn({
            msg: 'outage_retry',
            dependency,
            attempt,
            delayMs,
            topic,
            partition,
            err: (error as Error).message,
          });
        },
      });
  }

  /**
   * Stores every item in one transaction. If PostgreSQL refuses the data itself (SQLSTATE classes
   * 22, 23, 54), the offending rows are isolated by halving in separate transactions and returned as
   * poison; the rest is stored. Outage errors are retried by `retry`.
   */
  private async store(plan: BatchPlan, progress: Progress, retry: Retry): Promise<Stored> {
    const { items } = plan;
    const total: Stored = {
      sessions: { appended: 0, recomputed: 0 },
      track: 0,
      identify: 0,
      trackRows: 0,
      identifyRows: 0,
      newest: null,
      rejected: [],
    };
    const add = (s: Omit<Stored, 'rejected'>) => {
      total.sessions.appended += s.sessions.appended;
      total.sessions.recomputed += s.sessions.recomputed;
      total.track += s.track;
      total.identify += s.identify;
      total.trackRows += s.trackRows;
      total.identifyRows += s.identifyRows;
      total.newest = newer(total.newest, s.newest);
    };
    try {
      add(
        await retry(
          'database',
          () => this.transaction(items, progress, null, plan.trackColumns),
          classifyDbError,
        ),
      );
      return total;
    } catch (error) {
      if (classifyDbError(error) !== 'reject') throw error;
      this.o.logger.warn({
        msg: 'batch_rejected_isolating',
        topic: progress.topic,
        partition: progress.partition,
        err: (error as Error).message,
      });
    }
    const isolate = async (chunk: StoreItem[]): Promise<void> => {
      if (chunk.length === 0) return;
      try {
        add(await retry('database', () => this.transaction(chunk, null, null), classifyDbError));
      } catch (error) {
        if (classifyDbError(error) !== 'reject') throw error;
        if (chunk.length === 1) {
          total.rejected.push(await this.rejection(chunk[0]!, error as Error));
          return;
        }
        const [a, b] = halves(chunk);
        await isolate(a);
        await isolate(b);
      }
    };
    await isolate(items);
    await retry('database', () => this.transaction([], progress, total.newest), classifyDbError);
    return total;
  }

  /**
   * Why the database refused one item: `expired` when its week's partition was dropped by retention
   * meanwhile (another instance moved raw_from since this one last read it), else `db_rejected`.
   */
  private async rejection(item: StoreItem, error: Error): Promise<Poison> {
    if (item.kind === 'track' && sqlStateOf(error) === NO_PARTITION) {
      const from = await rawRowsFrom(this.o.prisma).catch(() => null);
      if (from !== null) {
        this.rawFromMs = Math.max(this.rawFromMs ?? 0, from.getTime());
        const expired = expiredPoison(item, this.rawFromMs);
        if (expired) return expired;
      }
    }
    return poison(item.message, 'db_rejected', 'store', error.message);
  }

  /** `trackColumns`: interactionColumns() of the items' track rows, when already built. */
  private async transaction(
    items: StoreItem[],
    progress: Progress | null,
    newestKnown: Date | null,
    trackColumns?: string[],
  ): Promise<Omit<Stored, 'rejected'>> {
    const track = trackRows(items);
    const identify = items.flatMap((i) => (i.kind === 'identify' ? [i.row] : []));
    const apiHits = items.flatMap((i) => (i.kind === 'apiHits' ? [i.row] : []));
    // Prisma's interactive transaction: BEGIN … COMMIT on one pooled connection, rolled back when the
    // callback throws or a statement starts after `timeout` (a running one is bounded by the pool's
    // query_timeout, database.plugin.ts); a connection that died mid-way is not reused.
    return this.o.prisma.$transaction(async (tx) => {
      // Every user of the batch at once, before any aggregate row is locked: the identify statement
      // then finds its users' locks already held, so two batches cannot wait on each other.
      await lockUsers(
        tx,
        [...track, ...identify].map((r) => r.userId),
      );
      const t = await storeInteractions(tx, track, {
        usersLocked: true,
        columns: trackColumns,
        partitionsEnsured: true,
        sessionRules: this.o.sessionRules,
      });
      const i = await storeIdentifies(tx, identify, { usersLocked: true });
      await recordApiHits(tx, apiHits);
      if (progress)
        await recordBatchProgress(tx, { ...progress, newestEventAt: newer(t.newest, newestKnown) });
      return {
        sessions: t.sessions ?? { appended: 0, recomputed: 0 },
        track: t.inserted,
        identify: i.inserted,
        trackRows: track.length,
        identifyRows: identify.length,
        newest: t.newest,
      };
    }, BATCH_TRANSACTION);
  }
}
