import type { Logger } from '@tracker/logger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ProcessorConfig } from '../config.js';
import { LagMonitor } from '../consumer/lag-monitor.js';
import { ProcessorService } from '../consumer/processor.service.js';
import { RetentionJob } from '../consumer/retention-job.js';
import { createProcessorMetrics } from '../metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    processor: ProcessorService;
  }
}

/** How long start-up waits for the first partition/raw_from refresh before consuming anyway. */
const REFRESH_WAIT_MS = 10_000;

export interface ProcessorPluginOptions {
  config: ProcessorConfig;
  onFatal: (error: Error) => void;
}

/**
 * The consumer and the lag monitor. They start when the app is ready (after the Kafka clients
 * connected) and stop first on close: the batch in flight commits before the clients and the
 * database pool close. The consumer joins its group in the background (not bound by Fastify's
 * plugin timeout): /readyz says why it is not ready until it has its partitions.
 */
export const processorPlugin = fp<ProcessorPluginOptions>(
  async (app: FastifyInstance, { config, onFatal }) => {
    const logger = app.log as unknown as Logger;
    const metrics = createProcessorMetrics(app.metrics);
    const processor = new ProcessorService({
      kafka: app.kafka.client,
      prisma: app.db.prisma,
      serde: app.kafka.serde,
      dlq: app.kafka.dlq,
      metrics,
      logger,
      config,
      onFatal,
    });
    const lag = new LagMonitor({
      admin: app.kafka.admin,
      prisma: app.db.prisma,
      groupId: config.PROCESSOR_GROUP_ID,
      topics: [config.PROCESSOR_TOPIC, config.PROCESSOR_API_HITS_TOPIC],
      intervalMs: config.PROCESSOR_LAG_INTERVAL_MS,
      metrics,
      logger,
    });
    const retention = new RetentionJob({
      prisma: app.db.prisma,
      pool: app.db.pool,
      handler: processor.handler,
      days: config.TRACKER_RETENTION_DAYS,
      intervalMs: config.PROCESSOR_RETENTION_INTERVAL_MS,
      logger,
    });
    app.decorate('processor', processor);
    app.addHook('onReady', async () => {
      const { _max } = await app.db.prisma.interaction.aggregate({ _max: { occurredAt: true } });
      if (_max.occurredAt) {
        processor.handler.newestMs = _max.occurredAt.getTime();
        metrics.newestEvent.set(_max.occurredAt.getTime() / 1000);
      }
      // Before consuming (at most REFRESH_WAIT_MS: housekeeping must not hold start-up), so that
      // expired rows are told apart from the first batch on; a row the database refuses for want of
      // its partition is still told apart later. Dropping old partitions runs in the background.
      const refreshed = retention
        .refresh()
        .then(() => true)
        .catch((error: Error) => {
          logger.warn({ msg: 'retention_refresh_failed', err: error.message });
          return true;
        });
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), REFRESH_WAIT_MS);
      });
      if (!(await Promise.race([refreshed, waited]))) {
        logger.warn({ msg: 'retention_refresh_slow', waitedMs: REFRESH_WAIT_MS });
      }
      clearTimeout(timer);
      void retention.tick();
      retention.start();
      processor.start();
      lag.start();
    });
    app.addHook('onClose', async () => {
      await processor.stop();
      await retention.stop();
      await lag.stop();
      await lag.tick().catch(() => {}); // a last look, so the status shows what was committed
    });
  },
  { name: 'processor-consumer', dependencies: ['processor-database', 'processor-kafka', 'tracker-metrics'] },
);
