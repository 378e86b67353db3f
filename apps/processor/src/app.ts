import type { pg } from '@tracker/db';
import { createBaseApp, healthPlugin, httpServerOptions, type TrackerApp } from '@tracker/http';
import type { ProcessorConfig } from './config.js';
import { databasePlugin } from './plugins/database.plugin.js';
import { kafkaPlugin } from './plugins/kafka.plugin.js';
import { processorPlugin } from './plugins/processor.plugin.js';

export interface AppDeps {
  /** An existing pool (tests). */
  pool?: pg.Pool;
  /** Called when the process cannot go on; server.ts exits 1. Default: log it and close the app. */
  onFatal?: (error: Error) => void;
}

/**
 * The processor: Kafka consumer group -> PostgreSQL (raw rows + exact aggregates), with /healthz,
 * /readyz and /metrics. Never listens; the consumer starts when the app is ready.
 */
export async function buildApp(config: ProcessorConfig, deps: AppDeps = {}): Promise<TrackerApp> {
  const app = await createBaseApp({
    service: 'processor',
    logLevel: config.LOG_LEVEL,
    rateLimitMax: 0,
    ...httpServerOptions(config),
    docs: {
      title: 'Tracker processor',
      description: 'Consumes interactions from Kafka into PostgreSQL. Health and metrics only.',
    },
  });
  const onFatal =
    deps.onFatal ??
    ((error: Error) => {
      app.log.fatal({ msg: 'processor_fatal', err: error.message });
      void app.close();
    });
  await app.register(databasePlugin, {
    url: config.DATABASE_URL,
    poolSize: config.PROCESSOR_DB_POOL_SIZE,
    ...(deps.pool ? { pool: deps.pool } : {}),
  });
  await app.register(kafkaPlugin, { config });
  await app.register(processorPlugin, { config, onFatal });
  await app.register(healthPlugin, {
    checks: {
      database: async () => {
        await app.db.prisma.$queryRaw`SELECT 1`;
        return true;
      },
      // A member of its group with its partitions; else why not (e.g. waiting for partition assignment).
      consumer: () => {
        const reason = app.processor.notReady;
        return reason === undefined ? true : { reason };
      },
    },
  });
  return app;
}
