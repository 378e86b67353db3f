import {
  applyRetention,
  ensureInteractionPartitions,
  type PrismaClient,
  type pg,
  rawRowsFrom,
} from '@tracker/db';
import type { Logger } from '@tracker/logger';
import type { BatchHandler } from './batch-handler.js';
import { PeriodicTask } from './periodic-task.js';

const WEEK_MS = 7 * 86_400_000;

export interface RetentionJobOptions {
  prisma: PrismaClient;
  pool: pg.Pool;
  handler: BatchHandler;
  /** TRACKER_RETENTION_DAYS; undefined keeps every raw row (the job still creates partitions ahead). */
  days: number | undefined;
  intervalMs: number;
  logger: Logger;
}

/**
 * Raw-row housekeeping, every PROCESSOR_RETENTION_INTERVAL_MS on every instance: this week's and the
 * next two weeks' partitions created ahead (so batches rarely create one), old partitions dropped
 * when TRACKER_RETENTION_DAYS is set (one instance at a time: applyRetention's advisory lock), and
 * raw_from read back into the batch handler (older rows are dead-lettered as expired).
 */
export class RetentionJob {
  readonly #task: PeriodicTask;

  constructor(private readonly o: RetentionJobOptions) {
    // Failures are logged and the next run tries again.
    this.#task = new PeriodicTask(o.intervalMs, () =>
      this.#run().catch((error: Error) => o.logger.warn({ msg: 'retention_failed', err: error.message })),
    );
  }

  start(): void {
    this.#task.start();
  }

  /** One run (or the one under way). */
  tick(): Promise<void> {
    return this.#task.tick();
  }

  /** The quick part of a run: partitions ahead, raw_from read (start-up awaits it before consuming). */
  async refresh(): Promise<void> {
    const { prisma, handler } = this.o;
    const now = Date.now();
    await ensureInteractionPartitions(prisma, [now, now + WEEK_MS, now + 2 * WEEK_MS]);
    const from = await rawRowsFrom(prisma);
    handler.rawFromMs = from?.getTime() ?? null;
  }

  async #run(): Promise<void> {
    const { days, logger } = this.o;
    if (days !== undefined) {
      const started = performance.now();
      const r = await applyRetention(this.o.pool, { days });
      if (r.ran && (r.dropped.length > 0 || r.prunedIds > 0)) {
        logger.info({
          msg: 'retention_applied',
          rawFrom: r.rawFrom?.toISOString(),
          dropped: r.dropped,
          prunedIds: r.prunedIds,
          ms: Math.round(performance.now() - started),
        });
      }
    }
    await this.refresh();
  }

  stop(): Promise<void> {
    return this.#task.stop();
  }
}
