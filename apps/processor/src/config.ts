import { CommonEnv, HttpServerEnv, loadConfig, type Static, Type } from '@tracker/config';
import { SESSION_GAP_MINUTES } from '@tracker/db';
import { TOPICS } from '@tracker/schemas';

/** Every environment variable the processor reads, with its default (README lists them). */
export const ProcessorEnvSchema = Type.Object({
  ...CommonEnv,
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3002 }),
  KAFKA_CLIENT_ID: Type.String({ default: 'tracker-processor' }),
  ...HttpServerEnv,
  PROCESSOR_TOPIC: Type.String({ minLength: 1, default: TOPICS.interactions }),
  PROCESSOR_API_HITS_TOPIC: Type.String({ minLength: 1, default: TOPICS.apiHits }),
  PROCESSOR_DLQ_TOPIC: Type.String({ minLength: 1, default: TOPICS.deadLetter }),
  PROCESSOR_GROUP_ID: Type.String({ minLength: 1, default: 'tracker-processor' }),
  /** Where a new consumer group starts: earliest keeps every event retained on the topic. */
  PROCESSOR_FROM_BEGINNING: Type.Boolean({ default: true }),
  /** How long an outage (database, registry, DLQ producer) is retried before the process exits 1. */
  PROCESSOR_MAX_RETRY_MS: Type.Integer({ minimum: 0, default: 300_000 }),
  PROCESSOR_RETRY_INITIAL_MS: Type.Integer({ minimum: 1, default: 200 }),
  PROCESSOR_RETRY_MAX_DELAY_MS: Type.Integer({ minimum: 1, default: 10_000 }),
  PROCESSOR_SESSION_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 30_000 }),
  PROCESSOR_HEARTBEAT_INTERVAL_MS: Type.Integer({ minimum: 100, default: 3_000 }),
  /**
   * Fetch size per partition, so the largest batch (~12 000 events of ~340 bytes). A backlog is
   * stored fastest in big batches: the aggregate rows a batch shares (time buckets, pages, users) are
   * upserted once per batch (1 MiB → 4 MiB: pipeline benchmark ratio 0.37–0.42 → 0.42–0.66, median
   * 0.51; README "Throughput").
   */
  PROCESSOR_MAX_BYTES_PER_PARTITION: Type.Integer({ minimum: 1024, default: 4_194_304 }),
  /**
   * Fetch size over all partitions of one broker (kafkajs `maxBytes`): with the per-partition size,
   * the bound on raw messages held between fetch and store.
   */
  PROCESSOR_MAX_BYTES_PER_FETCH: Type.Integer({ minimum: 1024, default: 10_485_760 }),
  PROCESSOR_PARTITIONS_CONCURRENTLY: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
  PROCESSOR_LAG_INTERVAL_MS: Type.Integer({ minimum: 100, default: 5_000 }),
  PROCESSOR_DB_POOL_SIZE: Type.Integer({ minimum: 1, default: 4 }),
  /**
   * Days of raw interactions kept (the table, exports); older ones are dropped a whole week (one
   * partition) at a time. Unset: every raw row is kept. Aggregates (statistics, charts) keep everything.
   */
  TRACKER_RETENTION_DAYS: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500 })),
  /**
   * Minutes without an event after which a user's next event starts a new session (events without a
   * client sessionId). Changing it applies to new events; `pnpm db:reconcile --rebuild` recomputes all.
   */
  TRACKER_SESSION_GAP_MINUTES: Type.Integer(SESSION_GAP_MINUTES),
  /** How often partitions are created ahead and retention is applied. */
  PROCESSOR_RETENTION_INTERVAL_MS: Type.Integer({ minimum: 1_000, default: 600_000 }),
  /** SIGTERM: how long the batch in flight may take to finish before the process is killed (exit 1). */
  PROCESSOR_SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 30_000 }),
});

export type ProcessorConfig = Static<typeof ProcessorEnvSchema>;

export function loadProcessorConfig(env: NodeJS.ProcessEnv = process.env): ProcessorConfig {
  return loadConfig(ProcessorEnvSchema, env);
}

/** Environment of the reconcile command (`pnpm db:reconcile`). */
export const ReconcileEnvSchema = Type.Object({
  DATABASE_URL: CommonEnv.DATABASE_URL,
  /** Differences printed at most (all are counted). */
  RECONCILE_MAX_PRINTED: Type.Integer({ minimum: 1, default: 1000 }),
  /** The sessions the table is compared with (and rebuilt with) are split by this gap. */
  TRACKER_SESSION_GAP_MINUTES: Type.Integer(SESSION_GAP_MINUTES),
});

export function loadReconcileConfig(env: NodeJS.ProcessEnv = process.env): Static<typeof ReconcileEnvSchema> {
  return loadConfig(ReconcileEnvSchema, env);
}
