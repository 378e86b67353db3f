import type { Queryable } from './snapshot.js';

/** Progress of one partition as the processor last recorded it (table pipeline_status). */
export interface PartitionStatus {
  consumerGroup: string;
  topic: string;
  partition: number;
  /** Next offset after the last batch stored in PostgreSQL (written in the batch's transaction). */
  storedOffset: number | null;
  /** Next offset the consumer group will read, as committed in Kafka (lag monitor). */
  committedOffset: number | null;
  /** Partition end offset when the lag monitor last looked. */
  highWatermark: number | null;
  /** highWatermark − committedOffset when the lag monitor last looked. */
  lag: number | null;
  lastBatchAt: Date | null;
  lastBatchSize: number | null;
  newestEventAt: Date | null;
  updatedAt: Date;
}

export interface PipelineStatus {
  partitions: PartitionStatus[];
  /** Sum of the partitions' lag (messages not yet committed). */
  totalLag: number;
  /** When any partition last stored a batch. */
  lastBatchAt: Date | null;
  /** Newest occurred_at among stored interactions (null when none). */
  newestEventAt: Date | null;
  /** When the lag figures were last refreshed (oldest partition row), null without rows. */
  updatedAt: Date | null;
}

/** Records, inside a batch's transaction, that a partition's batch up to `nextOffset` is stored. */
export async function recordBatchProgress(
  db: Queryable,
  p: {
    consumerGroup: string;
    topic: string;
    partition: number;
    nextOffset: string;
    size: number;
    newestEventAt: Date | null;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO pipeline_status (consumer_group, topic, partition, stored_offset, last_batch_at, last_batch_size, newest_event_at, updated_at)
     VALUES ($1, $2, $3, $4, now(), $5, $6, now())
     ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET
       stored_offset = GREATEST(pipeline_status.stored_offset, EXCLUDED.stored_offset),
       last_batch_at = EXCLUDED.last_batch_at,
       last_batch_size = EXCLUDED.last_batch_size,
       newest_event_at = GREATEST(pipeline_status.newest_event_at, EXCLUDED.newest_event_at)`,
    [p.consumerGroup, p.topic, p.partition, p.nextOffset, p.size, p.newestEventAt],
  );
}

/** Records the lag monitor's view of every partition (set-based, one statement). */
export async function recordLag(
  db: Queryable,
  consumerGroup: string,
  topic: string,
  rows: { partition: number; committedOffset: number | null; highWatermark: number; lag: number }[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO pipeline_status (consumer_group, topic, partition, committed_offset, high_watermark, lag, updated_at)
     SELECT $1, $2, * , now() FROM unnest($3::int[], $4::bigint[], $5::bigint[], $6::bigint[])
     ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET
       committed_offset = EXCLUDED.committed_offset,
       high_watermark = EXCLUDED.high_watermark,
       lag = EXCLUDED.lag,
       updated_at = now()`,
    [
      consumerGroup,
      topic,
      rows.map((r) => r.partition),
      rows.map((r) => r.committedOffset),
      rows.map((r) => r.highWatermark),
      rows.map((r) => r.lag),
    ],
  );
}

/** Minutes after the latest group's report beyond which another group's rows are left out. */
export const STALE_GROUP_MINUTES = 10;

/**
 * What the query service shows as pipeline lag: per-partition progress of a consumer group (when
 * omitted: every group heard from within 10 minutes of the latest one, so a group that is gone, a
 * renamed one or a one-off run, does not add its last lag for ever), total lag, last batch time
 * and the newest stored event time.
 */
export async function readPipelineStatus(db: Queryable, consumerGroup?: string): Promise<PipelineStatus> {
  const { rows } = await db.query<{
    consumer_group: string;
    topic: string;
    partition: number;
    stored_offset: number | null;
    committed_offset: number | null;
    high_watermark: number | null;
    lag: number | null;
    last_batch_at: Date | null;
    last_batch_size: number | null;
    newest_event_at: Date | null;
    updated_at: Date;
  }>(
    `WITH g AS (SELECT consumer_group, max(updated_at) AS seen FROM pipeline_status GROUP BY 1)
     SELECT p.* FROM pipeline_status p JOIN g USING (consumer_group)
      WHERE CASE WHEN $1::text IS NULL THEN g.seen >= (SELECT max(seen) FROM g) - interval '${STALE_GROUP_MINUTES} minutes'
                 ELSE p.consumer_group = $1 END
      ORDER BY consumer_group, topic, partition`,
    [consumerGroup ?? null],
  );
  const { rows: newest } = await db.query<{ t: Date | null }>(
    'SELECT max(occurred_at) AS t FROM interactions',
  );
  const partitions = rows.map((r) => ({
    consumerGroup: r.consumer_group,
    topic: r.topic,
    partition: r.partition,
    storedOffset: r.stored_offset,
    committedOffset: r.committed_offset,
    highWatermark: r.high_watermark,
    lag: r.lag,
    lastBatchAt: r.last_batch_at,
    lastBatchSize: r.last_batch_size,
    newestEventAt: r.newest_event_at,
    updatedAt: r.updated_at,
  }));
  const times = (xs: (Date | null)[]) => xs.filter((x): x is Date => x !== null).map((x) => x.getTime());
  const lastBatch = times(partitions.map((p) => p.lastBatchAt));
  const updated = times(partitions.map((p) => p.updatedAt));
  return {
    partitions,
    totalLag: partitions.reduce((s, p) => s + (p.lag ?? 0), 0),
    lastBatchAt: lastBatch.length > 0 ? new Date(Math.max(...lastBatch)) : null,
    newestEventAt: newest[0]?.t ?? null,
    updatedAt: updated.length > 0 ? new Date(Math.min(...updated)) : null,
  };
}
