import { type PrismaClient, readPipelineStatus } from '@tracker/db';

/** How far behind the pipeline is, as /api/stream `lag` events report it. */
export interface Lag {
  /** Messages on the interactions topic not yet processed (sum over partitions); null before any report. */
  consumerLag: number | null;
  partitions: {
    consumerGroup: string;
    topic: string;
    partition: number;
    lag: number | null;
    storedOffset: number | null;
    highWatermark: number | null;
    lastBatchAt: string | null;
  }[];
  /** When a processor last stored a batch. */
  lastBatchAt: string | null;
  /** When the lag figures were last refreshed by the processors' lag monitor. */
  lagUpdatedAt: string | null;
  /** occurredAt of the newest stored interaction. */
  newestEventAt: string | null;
  /** Milliseconds between that and now: how stale the dashboard's newest data is. */
  newestEventAgeMs: number | null;
  /**
   * How far the read replica (QUERY_DATABASE_URL) is behind the primary in milliseconds: everything
   * above is as of that long ago. null when the reads go to the primary.
   */
  replicaDelayMs: number | null;
  /**
   * Since when raw interactions (the table, exports) are kept: TRACKER_RETENTION_DAYS dropped the
   * older ones (statistics and charts still count them). null: every raw row is kept.
   */
  rawRowsFrom: string | null;
  at: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Consumer lag as the processors record it (packages/db readPipelineStatus), and data freshness. */
export async function readLag(prisma: PrismaClient): Promise<Lag> {
  const status = await readPipelineStatus(prisma);
  const now = Date.now();
  return {
    consumerLag: status.partitions.length > 0 ? status.totalLag : null,
    partitions: status.partitions.map((p) => ({
      consumerGroup: p.consumerGroup,
      topic: p.topic,
      partition: p.partition,
      lag: p.lag,
      storedOffset: p.storedOffset,
      highWatermark: p.highWatermark,
      lastBatchAt: iso(p.lastBatchAt),
    })),
    lastBatchAt: iso(status.lastBatchAt),
    lagUpdatedAt: iso(status.updatedAt),
    newestEventAt: iso(status.newestEventAt),
    newestEventAgeMs: status.newestEventAt ? Math.max(0, now - status.newestEventAt.getTime()) : null,
    replicaDelayMs: status.replicaDelayMs,
    rawRowsFrom: iso(status.rawRowsFrom),
    at: new Date(now).toISOString(),
  };
}
