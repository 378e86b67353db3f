import type { PrismaClient, PrismaSql } from './client.js';
import { rawRowsFrom } from './retention.js';

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
  /** How far the server read is behind its primary (readReplicaDelay); null when it is the primary. */
  replicaDelayMs: number | null;
  /** Since when raw interactions are kept (rawRowsFrom); null: all of them. */
  rawRowsFrom: Date | null;
}

/** Records, inside a batch's transaction, that a partition's batch up to `nextOffset` is stored. */
export async function recordBatchProgress(
  db: PrismaSql,
  p: {
    consumerGroup: string;
    topic: string;
    partition: number;
    nextOffset: string;
    size: number;
    newestEventAt: Date | null;
  },
): Promise<void> {
  await db.$executeRaw`
    INSERT INTO pipeline_status (consumer_group, topic, partition, stored_offset, last_batch_at, last_batch_size, newest_event_at, updated_at)
     VALUES (${p.consumerGroup}, ${p.topic}, ${p.partition}::int, ${p.nextOffset}::bigint, now(), ${p.size}::int,
             ${p.newestEventAt}::timestamptz, now())
     ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET
       stored_offset = GREATEST(pipeline_status.stored_offset, EXCLUDED.stored_offset),
       last_batch_at = EXCLUDED.last_batch_at,
       last_batch_size = EXCLUDED.last_batch_size,
       newest_event_at = GREATEST(pipeline_status.newest_event_at, EXCLUDED.newest_event_at)`;
}

/** Records the lag monitor's view of every partition (set-based, one statement). */
export async function recordLag(
  db: PrismaSql,
  consumerGroup: string,
  topic: string,
  rows: { partition: number; committedOffset: number | null; highWatermark: number; lag: number }[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.$executeRaw`
    INSERT INTO pipeline_status (consumer_group, topic, partition, committed_offset, high_watermark, lag, updated_at)
     SELECT ${consumerGroup}, ${topic}, *, now()
       FROM unnest(${rows.map((r) => r.partition)}::int[], ${rows.map((r) => r.committedOffset)}::bigint[],
                   ${rows.map((r) => r.highWatermark)}::bigint[], ${rows.map((r) => r.lag)}::bigint[])
     ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET
       committed_offset = EXCLUDED.committed_offset,
       high_watermark = EXCLUDED.high_watermark,
       lag = EXCLUDED.lag,
       updated_at = now()`;
}

/** Minutes after the latest group's report beyond which another group's rows are left out. */
export const STALE_GROUP_MINUTES = 10;

/**
 * What the query service shows as pipeline lag: per-partition progress of a consumer group (when
 * omitted: every group heard from within 10 minutes of the latest one, so a group that is gone, a
 * renamed one or a one-off run, does not add its last lag for ever), total lag, last batch time
 * and the newest stored event time.
 */
export async function readPipelineStatus(
  prisma: Pick<PrismaClient, 'pipelineStatus' | 'interaction' | '$queryRaw'>,
  consumerGroup?: string,
): Promise<PipelineStatus> {
  // Which groups count (all reported within STALE_GROUP_MINUTES of the latest) needs a grouped
  // comparison Prisma's where cannot say; the rows themselves are read through the model.
  const groups =
    consumerGroup !== undefined
      ? [consumerGroup]
      : (
          await prisma.$queryRaw<{ consumer_group: string }[]>`
            WITH g AS (SELECT consumer_group, max(updated_at) AS seen FROM pipeline_status GROUP BY 1)
            SELECT consumer_group FROM g
             WHERE seen >= (SELECT max(seen) FROM g) - make_interval(mins => ${STALE_GROUP_MINUTES})`
        ).map((g) => g.consumer_group);
  const [rows, newest, replicaDelayMs, rawFrom] = await Promise.all([
    prisma.pipelineStatus.findMany({
      where: { consumerGroup: { in: groups } },
      orderBy: [{ consumerGroup: 'asc' }, { topic: 'asc' }, { partition: 'asc' }],
    }),
    prisma.interaction.aggregate({ _max: { occurredAt: true } }),
    readReplicaDelay(prisma),
    rawRowsFrom(prisma),
  ]);
  const num = (v: bigint | null) => (v === null ? null : Number(v));
  const partitions = rows.map((r) => ({
    consumerGroup: r.consumerGroup,
    topic: r.topic,
    partition: r.partition,
    storedOffset: num(r.storedOffset),
    committedOffset: num(r.committedOffset),
    highWatermark: num(r.highWatermark),
    lag: num(r.lag),
    lastBatchAt: r.lastBatchAt,
    lastBatchSize: r.lastBatchSize,
    newestEventAt: r.newestEventAt,
    updatedAt: r.updatedAt,
  }));
  const times = (xs: (Date | null)[]) => xs.filter((x): x is Date => x !== null).map((x) => x.getTime());
  const lastBatch = times(partitions.map((p) => p.lastBatchAt));
  const updated = times(partitions.map((p) => p.updatedAt));
  return {
    partitions,
    totalLag: partitions.reduce((s, p) => s + (p.lag ?? 0), 0),
    lastBatchAt: lastBatch.length > 0 ? new Date(Math.max(...lastBatch)) : null,
    newestEventAt: newest._max.occurredAt ?? null,
    updatedAt: updated.length > 0 ? new Date(Math.min(...updated)) : null,
    replicaDelayMs,
    rawRowsFrom: rawFrom,
  };
}

/**
 * How far the server these reads go to is behind its primary, in milliseconds: null on a primary; on
 * a streaming replica 0 once it has replayed all the WAL it received, else the age of the last
 * transaction it replayed, or since it started when it has replayed none (so a paused or slow replay
 * grows, an idle primary does not).
 */
export async function readReplicaDelay(prisma: Pick<PrismaSql, '$queryRaw'>): Promise<number | null> {
  const [row] = await prisma.$queryRaw<{ delay_ms: number | null }[]>`
    SELECT CASE
             WHEN NOT pg_is_in_recovery() THEN NULL
             WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
             ELSE greatest(0, extract(epoch FROM clock_timestamp()
                     - coalesce(pg_last_xact_replay_timestamp(), pg_postmaster_start_time())) * 1000)
           END::float8 AS delay_ms`;
  return row?.delay_ms === null || row?.delay_ms === undefined ? null : Math.round(row.delay_ms);
}
