import { type PrismaClient, recordLag } from '@tracker/db';
import type { Logger } from '@tracker/logger';
import type { Admin } from 'kafkajs';
import type { ProcessorMetrics } from '../metrics.js';
import { PeriodicTask } from './periodic-task.js';

export interface LagMonitorOptions {
  admin: Admin;
  prisma: PrismaClient;
  groupId: string;
  topics: string[];
  intervalMs: number;
  metrics: ProcessorMetrics;
  logger: Logger;
}

export interface PartitionLag {
  partition: number;
  committedOffset: number | null;
  highWatermark: number;
  lag: number;
}

/**
 * Lag of one topic for a group: partition end offset minus the committed offset (the earliest
 * retained offset when the group has committed nothing yet).
 */
export function computeLag(
  ends: { partition: number; high: string; low: string }[],
  committed: { partition: number; offset: string }[],
): PartitionLag[] {
  const byPartition = new Map(committed.map((c) => [c.partition, Number(c.offset)]));
  return ends
    .map((e) => {
      const c = byPartition.get(e.partition);
      const committedOffset = c !== undefined && c >= 0 ? c : null;
      const high = Number(e.high);
      return {
        partition: e.partition,
        committedOffset,
        highWatermark: high,
        lag: Math.max(0, high - (committedOffset ?? Number(e.low))),
      };
    })
    .sort((a, b) => a.partition - b.partition);
}

/**
 * Every few seconds: the group's lag per partition into the processor_consumer_lag gauge and the
 * pipeline_status table (which the query service reads for /api/stream). Every instance does it;
 * they write the same figures.
 */
export class LagMonitor {
  readonly #task: PeriodicTask;

  constructor(private readonly o: LagMonitorOptions) {
    this.#task = new PeriodicTask(o.intervalMs, () => this.#check());
  }

  start(): void {
    this.#task.start();
    void this.#task.tick();
  }

  tick(): Promise<void> {
    return this.#task.tick();
  }

  async #check(): Promise<void> {
    for (const topic of this.o.topics) {
      try {
        const [ends, committed] = await Promise.all([
          this.o.admin.fetchTopicOffsets(topic),
          this.o.admin.fetchOffsets({ groupId: this.o.groupId, topics: [topic] }),
        ]);
        const rows = computeLag(ends, committed.find((c) => c.topic === topic)?.partitions ?? []);
        for (const r of rows) this.o.metrics.lag.set({ topic, partition: String(r.partition) }, r.lag);
        await recordLag(this.o.prisma, this.o.groupId, topic, rows);
      } catch (error) {
        this.o.logger.warn({ msg: 'lag_check_failed', topic, err: (error as Error).message });
      }
    }
  }

  stop(): Promise<void> {
    return this.#task.stop();
  }
}
