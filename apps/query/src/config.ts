import { fileURLToPath } from 'node:url';
import {
  CommonEnv,
  HttpServerEnv,
  KeyList,
  loadConfig,
  type Static,
  TrustProxy,
  Type,
} from '@tracker/config';
import { TOPICS } from '@tracker/schemas';

/** Every environment variable the query service reads, with its default (README lists them). */
export const QueryEnvSchema = Type.Object({
  ...CommonEnv,
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  KAFKA_CLIENT_ID: Type.String({ default: 'tracker-query' }),
  /** Read keys for /api/*; empty = open (a warning is logged at boot). */
  QUERY_READ_KEYS: KeyList(),
  QUERY_CORS_ORIGINS: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  QUERY_RATE_LIMIT_MAX: Type.Integer({ minimum: 0, default: 600 }),
  QUERY_RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1, default: 60_000 }),
  QUERY_TRUST_PROXY: TrustProxy,
  ...HttpServerEnv,
  /**
   * Where the reads go, e.g. a streaming replica of DATABASE_URL's primary; unset: DATABASE_URL. The
   * service's only writes (its API hit counts) still go to DATABASE_URL.
   */
  QUERY_DATABASE_URL: Type.Optional(Type.String({ minLength: 1 })),
  QUERY_DB_POOL_SIZE: Type.Integer({ minimum: 2, maximum: 200, default: 10 }),
  /**
   * PostgreSQL parallel workers per statement (max_parallel_workers_per_gather) of the query
   * service's sessions. 0: one /api/stats already runs its statements side by side on up to 7
   * connections.
   */
  QUERY_DB_PARALLEL_WORKERS: Type.Integer({ minimum: 0, maximum: 64, default: 0 }),
  /** Parallel workers for a funnel's statement (one statement over the range's raw rows). */
  QUERY_REPORT_PARALLEL_WORKERS: Type.Integer({ minimum: 0, maximum: 64, default: 2 }),
  /**
   * How long an unused pool connection stays open. One /api/stats uses up to 7; reopened after
   * node-postgres' default 10 s, they made a dashboard's next request 12-34 ms slower.
   */
  QUERY_DB_IDLE_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 300_000 }),
  /** How long a request waits for a database connection (a busy pool) before 503. */
  QUERY_DB_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 5000 }),
  /** Time limit of one SQL statement of the JSON endpoints (exports: QUERY_EXPORT_STATEMENT_TIMEOUT_MS). */
  QUERY_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 15_000 }),
  /** Where the compiled dashboard lives; served at /. */
  QUERY_PUBLIC_DIR: Type.String({ default: fileURLToPath(new URL('../public', import.meta.url)) }),
  /** Demo pages, served at /demo/ when the folder exists. */
  QUERY_DEMO_DIR: Type.String({ default: fileURLToPath(new URL('../demo', import.meta.url)) }),
  /** The ingest the demo pages load the snippet from and send to (also allowed by their CSP); never taken from a URL. */
  QUERY_DEMO_INGEST_URL: Type.String({
    pattern: '^https?://[A-Za-z0-9.\\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/\\-]*)?$',
    default: 'http://127.0.0.1:3001',
  }),
  /** Write key the demo pages send, when ingest needs one (INGEST_WRITE_KEYS); it is public in the pages. */
  QUERY_DEMO_WRITE_KEY: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  /** Lifetime of the signed export links POST /api/export/link hands out (seconds). */
  QUERY_EXPORT_LINK_TTL_S: Type.Integer({ minimum: 5, maximum: 3600, default: 60 }),
  /** The dead-letter topic /api/dlq reads. */
  QUERY_DLQ_TOPIC: Type.String({ minLength: 1, default: TOPICS.deadLetter }),
  /** Upper bound on the time /api/dlq spends reading Kafka. */
  QUERY_DLQ_TIMEOUT_MS: Type.Integer({ minimum: 500, default: 5000 }),
  /** How long a /api/dlq answer is reused (protects the broker from a busy dashboard). */
  QUERY_DLQ_CACHE_MS: Type.Integer({ minimum: 0, default: 3000 }),
  /** How often the one live poller per process looks for new stored rows. */
  QUERY_STREAM_POLL_MS: Type.Integer({ minimum: 100, default: 1000 }),
  /** Minimum time between two `stats` events of one stream. */
  QUERY_STREAM_STATS_MS: Type.Integer({ minimum: 500, default: 2000 }),
  /** How often `lag` events are sent. */
  QUERY_STREAM_LAG_MS: Type.Integer({ minimum: 500, default: 5000 }),
  QUERY_STREAM_HEARTBEAT_MS: Type.Integer({ minimum: 1000, default: 15_000 }),
  /** Open event streams per process; more answer 503. */
  QUERY_STREAM_MAX_CLIENTS: Type.Integer({ minimum: 1, default: 1000 }),
  /**
   * Rows committed up to this long after their stored_at timestamp (a transaction's start time) are
   * still streamed: the poller re-reads this window and drops what it already sent.
   */
  QUERY_STREAM_OVERLAP_MS: Type.Integer({ minimum: 0, default: 10_000 }),
  /** /api/export downloads running at once per process (each holds a database connection); more get 503. */
  QUERY_EXPORT_MAX_CONCURRENT: Type.Integer({ minimum: 1, default: 4 }),
  /** Exports and event streams one client may hold open: per address, and per read key. */
  QUERY_EXPORTS_PER_ADDRESS: Type.Integer({ minimum: 1, default: 2 }),
  QUERY_EXPORTS_PER_KEY: Type.Integer({ minimum: 1, default: 4 }),
  QUERY_STREAMS_PER_ADDRESS: Type.Integer({ minimum: 1, default: 10 }),
  QUERY_STREAMS_PER_KEY: Type.Integer({ minimum: 1, default: 200 }),
  /** Time limit of each read (FETCH of 1000 rows) of an export's cursor. */
  QUERY_EXPORT_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 60_000 }),
  /**
   * An export whose client has read nothing for this long is ended, so a stalled reader cannot hold
   * its snapshot (and VACUUM) open; the database ends the session a little later on its own too.
   */
  QUERY_EXPORT_IDLE_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 30_000 }),
  /** Prefix CSV cells starting with = + - @ tab or CR with a quote (spreadsheet formula injection). */
  QUERY_CSV_FORMULA_PROTECTION: Type.Boolean({ default: true }),
});
export type QueryConfig = Static<typeof QueryEnvSchema>;

export function loadQueryConfig(env: NodeJS.ProcessEnv = process.env): QueryConfig {
  return loadConfig(QueryEnvSchema, env);
}
