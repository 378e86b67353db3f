import { fileURLToPath } from 'node:url';
import {
  CommonEnv,
  ConfigError,
  HttpServerEnv,
  KeyList,
  loadConfig,
  type Static,
  TrustProxy,
  Type,
} from '@tracker/config';
import { TOPICS } from '@tracker/schemas';
import { DEFAULT_QUERY_ALLOW } from './url-privacy.js';

/** packages/tracker's build output, relative to this file in src/ or dist/. */
const DEFAULT_TRACKER_JS = fileURLToPath(
  new URL('../../../packages/tracker/dist/tracker.js', import.meta.url),
);

/** Every environment variable the ingest service reads, with its default. */
export const IngestEnvSchema = Type.Object({
  LOG_LEVEL: CommonEnv.LOG_LEVEL,
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3001 }),
  TRUST_PROXY: TrustProxy,
  ...HttpServerEnv,
  KAFKA_BROKERS: CommonEnv.KAFKA_BROKERS,
  KAFKA_CLIENT_ID: Type.String({ default: 'tracker-ingest' }),
  KAFKA_SSL: CommonEnv.KAFKA_SSL,
  KAFKA_SASL_MECHANISM: CommonEnv.KAFKA_SASL_MECHANISM,
  KAFKA_SASL_USERNAME: CommonEnv.KAFKA_SASL_USERNAME,
  KAFKA_SASL_PASSWORD: CommonEnv.KAFKA_SASL_PASSWORD,
  SCHEMA_REGISTRY_URL: CommonEnv.SCHEMA_REGISTRY_URL,
  SCHEMA_REGISTRY_USERNAME: CommonEnv.SCHEMA_REGISTRY_USERNAME,
  SCHEMA_REGISTRY_PASSWORD: CommonEnv.SCHEMA_REGISTRY_PASSWORD,
  INGEST_TOPIC: Type.String({ minLength: 1, default: TOPICS.interactions }),
  /** Registry subject of the value schema; default `<INGEST_TOPIC>-value` (TopicNameStrategy). */
  INGEST_SUBJECT: Type.Optional(Type.String({ minLength: 1 })),
  INGEST_API_HITS_TOPIC: Type.String({ minLength: 1, default: TOPICS.apiHits }),
  INGEST_API_HITS_INTERVAL_MS: Type.Integer({ minimum: 100, default: 2000 }),
  INGEST_WRITE_KEYS: KeyList(),
  /** Keys that may use /v1/import (bulk, any user and time); a write key alone may not. */
  INGEST_IMPORT_KEYS: KeyList(),
  /**
   * Query parameters kept in stored pages and referrers: names, `prefix*`, or `*` for all. Every other
   * parameter and every fragment is dropped (they carry reset tokens and session ids).
   */
  INGEST_URL_QUERY_ALLOW: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
    default: [...DEFAULT_QUERY_ALLOW],
  }),
  INGEST_CORS_ORIGINS: Type.Array(Type.String({ minLength: 1 }), { default: ['*'] }),
  INGEST_RATE_LIMIT_MAX: Type.Integer({ minimum: 0, default: 6000 }),
  INGEST_RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1, default: 60_000 }),
  /** Events (not requests) per INGEST_RATE_LIMIT_WINDOW_MS per key and client address; 0: no limit. */
  INGEST_EVENT_RATE_MAX: Type.Integer({ minimum: 0, default: 120_000 }),
  /** Events per INGEST_RATE_LIMIT_WINDOW_MS one import key may import; 0: no limit. */
  INGEST_IMPORT_EVENT_RATE_MAX: Type.Integer({ minimum: 0, default: 1_000_000 }),
  INGEST_BATCH_MAX_EVENTS: Type.Integer({ minimum: 1, default: 1000 }),
  INGEST_BATCH_MAX_BYTES: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
  INGEST_IMPORT_MAX_BYTES: Type.Integer({ minimum: 1024, default: 250 * 1024 * 1024 }),
  INGEST_IMPORT_CHUNK_EVENTS: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
  INGEST_IMPORT_MAX_REJECTIONS: Type.Integer({ minimum: 0, default: 100 }),
  INGEST_PRODUCER_LINGER_MS: Type.Integer({ minimum: 0, default: 2 }),
  INGEST_PRODUCER_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 5000 }),
  /**
   * Most bytes of encoded events waiting for Kafka's acknowledgement; past it requests get 503
   * INGEST_BUSY with Retry-After (nothing is written) instead of the queue growing with the load.
   */
  INGEST_PRODUCER_QUEUE_MAX_BYTES: Type.Integer({ minimum: 65_536, default: 32 * 1024 * 1024 }),
  /** The interactions producer's kafkajs work on a worker thread of its own (see ThreadProducer). */
  INGEST_PRODUCER_THREAD: Type.Boolean({ default: true }),
  INGEST_RETRY_AFTER_S: Type.Integer({ minimum: 1, default: 5 }),
  INGEST_TRACKER_JS_PATH: Type.String({ minLength: 1, default: DEFAULT_TRACKER_JS }),
  /**
   * The URL browsers reach this ingest at (`https://ingest.example.com`, may end in a path prefix),
   * written into the settings served to Segment's browser SDK; unset: the request's own scheme and
   * Host (X-Forwarded-Proto/-Host from a TRUST_PROXY proxy).
   */
  INGEST_PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^/?#\\s]+(/[^?#\\s]*)?$' })),
});
export type IngestConfig = Static<typeof IngestEnvSchema>;

/** Reads and validates the environment once; throws ConfigError listing every bad key. */
export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const config = loadConfig(IngestEnvSchema, env);
  // A queue smaller than one batch would take a full-size batch only when nothing else waits.
  if (config.INGEST_PRODUCER_QUEUE_MAX_BYTES < config.INGEST_BATCH_MAX_BYTES)
    throw new ConfigError([
      {
        key: 'INGEST_PRODUCER_QUEUE_MAX_BYTES',
        message: `must be at least INGEST_BATCH_MAX_BYTES (${config.INGEST_BATCH_MAX_BYTES})`,
        value: String(config.INGEST_PRODUCER_QUEUE_MAX_BYTES),
      },
    ]);
  return config;
}
