import {
  computeStats,
  createPool,
  createPrisma,
  type Database,
  openDatabase,
  ownConnections,
  type PrismaClient,
  type pg,
  statsSessionSettings,
} from '@tracker/db';
import { createKafka } from '@tracker/kafka';
import type { Logger } from '@tracker/logger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Kafka } from 'kafkajs';
import type { QueryConfig } from '../config.js';
import { DlqReader } from '../services/dlq.service.js';
import { LiveFeed } from '../services/live-feed.js';
import { type ComputeStats, SharedStats } from '../services/stats.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** PostgreSQL for reads (QUERY_DATABASE_URL, else DATABASE_URL) through Prisma Client, and its pool. */
    db: Database;
    /** The primary (DATABASE_URL), for the service's own writes: its API hit counts. */
    primary: PrismaClient;
    /** Dead-letter topic reader (connects to Kafka on first use). */
    dlq: DlqReader;
    /** The shared poller behind /api/stream. */
    live: LiveFeed;
    /** computeStats (packages/db) and its per-filter cache for live streams. */
    stats: { compute: ComputeStats; shared: SharedStats };
  }
}

export interface ClientsOptions {
  config: QueryConfig;
  /** Injected instead of the ones built from config (tests, embedding). Not closed by the app. */
  pool?: pg.Pool;
  kafka?: Kafka;
  computeStats?: ComputeStats;
}

/** Database, Kafka and the services built on them, decorated on the instance and closed in onClose. */
export const clientsPlugin = fp<ClientsOptions>(
  async (app: FastifyInstance, { config, ...deps }) => {
    const log = app.log as unknown as Logger;
    let pool = deps.pool;
    if (!pool) {
      // Session defaults for every connection. statement_timeout: exports lift it inside their own
      // transaction. work_mem and parallel workers: statsSessionSettings (packages/db stats.ts).
      // NOTE: not as `?options=` in the URL: node-postgres lets the URL's options replace the pool's
      // (which turn JIT off).
      pool = createPool(
        config.QUERY_DATABASE_URL ?? config.DATABASE_URL,
        config.QUERY_DB_POOL_SIZE,
        'tracker-query',
        {
          statement_timeout: String(config.QUERY_STATEMENT_TIMEOUT_MS),
          ...statsSessionSettings(config.QUERY_DB_PARALLEL_WORKERS),
        },
        config.QUERY_DB_IDLE_TIMEOUT_MS,
        config.QUERY_DB_CONNECT_TIMEOUT_MS,
      );
      pool.on('error', (error) => log.warn({ msg: 'db_idle_client_error', err: error.message }));
    }
    const kafka = deps.kafka ?? createKafka(config, log.child({ component: 'kafka' }));
    const compute = deps.computeStats ?? computeStats;
    const db = openDatabase(pool);
    // Reads from a replica: a small pool of its own on the primary for the writes.
    const readsElsewhere =
      deps.pool === undefined &&
      config.QUERY_DATABASE_URL !== undefined &&
      config.QUERY_DATABASE_URL !== config.DATABASE_URL;
    const primary = readsElsewhere ? createPrisma(config.DATABASE_URL, 2, 'tracker-query') : db.prisma;

    app.decorate('db', db);
    app.decorate('primary', primary);
    app.decorate(
      'dlq',
      new DlqReader(kafka, {
        topic: config.QUERY_DLQ_TOPIC,
        timeoutMs: config.QUERY_DLQ_TIMEOUT_MS,
        cacheMs: config.QUERY_DLQ_CACHE_MS,
        capacity: 100,
        log,
      }),
    );
    app.decorate(
      'live',
      new LiveFeed(db.prisma, {
        pollMs: config.QUERY_STREAM_POLL_MS,
        overlapMs: config.QUERY_STREAM_OVERLAP_MS,
        maxRowsPerPoll: 2000,
        log,
      }),
    );
    app.decorate('stats', {
      compute,
      shared: new SharedStats(ownConnections(db), compute, Math.max(500, config.QUERY_STREAM_STATS_MS - 100)),
    });

    app.addHook('onClose', async () => {
      await app.live.close();
      await app.dlq.close();
      await db.prisma.$disconnect();
      if (primary !== db.prisma) await primary.$disconnect();
      if (!deps.pool) await pool.end();
    });
  },
  { name: 'query-clients' },
);
