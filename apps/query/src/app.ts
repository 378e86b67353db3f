import { randomUUID } from 'node:crypto';
import { trustProxyOption } from '@tracker/config';
import type { pg } from '@tracker/db';
import { recordApiHits } from '@tracker/db';
import {
  apiHitsPlugin,
  createBaseApp,
  HttpError,
  healthPlugin,
  httpServerOptions,
  type KeySource,
  requireKey,
  type TrackerApp,
} from '@tracker/http';
import { PATTERN_MESSAGES } from '@tracker/schemas';
import type { Kafka } from 'kafkajs';
import type { QueryConfig } from './config.js';
import { createExportLinks } from './export-link.js';
import { clientsPlugin } from './plugins/clients.plugin.js';
import { securityHeadersPlugin } from './plugins/security-headers.plugin.js';
import { webPlugin } from './plugins/web.plugin.js';
import { dlqRoute } from './routes/dlq.route.js';
import { exportRoute } from './routes/export.route.js';
import { exportLinkRoute } from './routes/export-link.route.js';
import { facetsRoute } from './routes/facets.route.js';
import { funnelsRoute } from './routes/funnels.route.js';
import { interactionsRoute } from './routes/interactions.route.js';
import { retentionRoute } from './routes/retention.route.js';
import { sessionStatsRoute } from './routes/session-stats.route.js';
import { statsRoute } from './routes/stats.route.js';
import { streamRoute } from './routes/stream.route.js';
import { InteractionItemSchema, StatsSchema } from './schemas/responses.schema.js';
import type { ComputeStats } from './services/stats.service.js';

export interface QueryDeps {
  /** Use this pool instead of one built from DATABASE_URL (not closed by the app). */
  pool?: pg.Pool;
  /** Use this Kafka client instead of one built from KAFKA_* (for /api/dlq). */
  kafka?: Kafka;
  /** Replace the stats implementation (default: computeStats from @tracker/db). */
  computeStats?: ComputeStats;
  /** How often API hits are flushed to the database (default 2000 ms). */
  apiHitsFlushMs?: number;
}

/** Routes whose clients cannot send headers (EventSource, download links) also take `?key=`. */
const URL_KEY_ROUTES = new Set(['/api/stream', '/api/export']);

/**
 * The query service: filtered reads, statistics, export, live stream and DLQ view under /api (read
 * key when QUERY_READ_KEYS is set), the dashboard at /, OpenAPI at /docs. Never listens.
 */
export async function buildApp(config: QueryConfig, deps: QueryDeps = {}): Promise<TrackerApp> {
  const app = await createBaseApp({
    service: 'query',
    patternMessages: PATTERN_MESSAGES,
    logLevel: config.LOG_LEVEL,
    bodyLimit: 16 * 1024,
    corsOrigins: config.QUERY_CORS_ORIGINS,
    rateLimitMax: config.QUERY_RATE_LIMIT_MAX,
    rateLimitWindowMs: config.QUERY_RATE_LIMIT_WINDOW_MS,
    trustProxy: trustProxyOption(config.QUERY_TRUST_PROXY),
    ...httpServerOptions(config),
    docs: {
      title: 'Interaction tracker: query API',
      description:
        'Filtered, paginated reads of stored interactions, statistics from exact aggregates, CSV/NDJSON export, ' +
        'live updates (server-sent events) and the dead-letter view. With QUERY_READ_KEYS set, every /api route ' +
        'needs `Authorization: Bearer <key>` or `x-api-key: <key>`; /api/stream and /api/export also take `?key=`, ' +
        'and /api/export a signed link from POST /api/export/link instead.',
    },
  });
  app.addSchema(InteractionItemSchema);
  app.addSchema(StatsSchema);
  await app.register(securityHeadersPlugin, { demoIngestUrl: config.QUERY_DEMO_INGEST_URL });

  await app.register(clientsPlugin, {
    config,
    ...(deps.pool ? { pool: deps.pool } : {}),
    ...(deps.kafka ? { kafka: deps.kafka } : {}),
    ...(deps.computeStats ? { computeStats: deps.computeStats } : {}),
  });
  await app.register(healthPlugin, {
    checks: {
      database: async () => {
        await app.db.prisma.$queryRaw`SELECT 1`;
        return true;
      },
    },
  });
  // Registered after the clients: its onClose flush runs before the pool closes.
  await app.register(apiHitsPlugin, {
    flush: async (hits) => {
      await recordApiHits(app.primary, [{ batchId: randomUUID(), service: 'query', hits }]);
    },
    ...(deps.apiHitsFlushMs ? { intervalMs: deps.apiHitsFlushMs } : {}),
  });

  if (config.QUERY_READ_KEYS.length === 0) {
    app.log.warn({ msg: 'read_keys_not_configured', hint: 'set QUERY_READ_KEYS to require a key on /api' });
  }
  const headerSources: KeySource[] = ['bearer', 'header:x-api-key'];
  const headerAuth = requireKey(config.QUERY_READ_KEYS, headerSources, 'read key');
  const urlAuth = requireKey(config.QUERY_READ_KEYS, [...headerSources, 'query:key'], 'read key');
  const exportLinks = createExportLinks(config.QUERY_READ_KEYS, config.QUERY_EXPORT_LINK_TTL_S);

  await app.register(
    async (api) => {
      // NOTE: onRequest, before validation and before the rate limiter (preHandler), so the limiter
      // buckets by key and an unauthenticated caller learns nothing about the parameters.
      api.addHook('onRequest', async (request) => {
        const route = request.routeOptions.url ?? '';
        // A signed export link (POST /api/export/link) stands in for the key; a bad one is refused.
        const search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
        const link = route === '/api/export' ? exportLinks?.verify(search) : undefined;
        if (link === 'valid') return;
        if (link === 'expired' || link === 'invalid')
          throw new HttpError(
            401,
            'UNAUTHORIZED',
            `the export link ${link === 'expired' ? 'has expired' : 'is not valid'}`,
          );
        await (URL_KEY_ROUTES.has(route) ? urlAuth : headerAuth)(request);
      });
      await api.register(interactionsRoute);
      await api.register(statsRoute);
      await api.register(retentionRoute);
      await api.register(sessionStatsRoute);
      await api.register(funnelsRoute, {
        formulaProtection: config.QUERY_CSV_FORMULA_PROTECTION,
        parallelWorkers: config.QUERY_REPORT_PARALLEL_WORKERS,
      });
      await api.register(facetsRoute);
      await api.register(exportRoute, {
        formulaProtection: config.QUERY_CSV_FORMULA_PROTECTION,
        maxConcurrent: config.QUERY_EXPORT_MAX_CONCURRENT,
        perAddress: config.QUERY_EXPORTS_PER_ADDRESS,
        perKey: config.QUERY_EXPORTS_PER_KEY,
        statementTimeoutMs: config.QUERY_EXPORT_STATEMENT_TIMEOUT_MS,
        idleTimeoutMs: config.QUERY_EXPORT_IDLE_TIMEOUT_MS,
      });
      await api.register(exportLinkRoute, { links: exportLinks });
      await api.register(streamRoute, { config });
      await api.register(dlqRoute);
    },
    { prefix: '/api' },
  );

  await app.register(webPlugin, {
    publicDir: config.QUERY_PUBLIC_DIR,
    demoDir: config.QUERY_DEMO_DIR,
    demoIngestUrl: config.QUERY_DEMO_INGEST_URL,
    demoWriteKey: config.QUERY_DEMO_WRITE_KEY,
  });
  return app;
}
