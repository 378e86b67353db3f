/**
 * The ingest_single baseline: the ingest service without Kafka. The same base app (createBaseApp with
 * ingest's options), the same routes with their validation and normalisation (apps/ingest's
 * eventsRoutes), the same metrics; only `events.publish` answers at once instead of encoding to Avro
 * and waiting for the broker's acknowledgement. Run as a child process by the bench (PORT from env).
 */
import { createBaseApp, healthPlugin } from '@tracker/http';
import { baseAppOptions } from '@tracker/ingest';
import { SegmentIntake } from '@tracker/ingest/compat/segment';
import { loadIngestConfig } from '@tracker/ingest/config';
import { Intake } from '@tracker/ingest/intake';
import { createIngestMetrics } from '@tracker/ingest/metrics';
import type { EventSink } from '@tracker/ingest/plugins/events';
import { eventsRoutes } from '@tracker/ingest/routes/events';
import { queryAllowList } from '@tracker/ingest/url-privacy';
import type { InteractionRecord } from '@tracker/schemas';
import fp from 'fastify-plugin';

const config = loadIngestConfig();
const app = await createBaseApp({
  ...baseAppOptions(config),
  docs: { title: 'ingest baseline (no Kafka)', description: 'benchmark baseline' },
});

// Stands in for apps/ingest's eventsPlugin (same name, so the routes see the same decoration).
await app.register(
  fp(
    async (instance) => {
      const metrics = createIngestMetrics(instance.metrics, () => true);
      const sink = {
        healthy: true,
        metrics,
        serde: { schemaId: 0 },
        async publish(records: InteractionRecord[], route: string) {
          metrics.accepted.inc({ route }, records.length);
        },
        async publishApiHits() {},
      };
      instance.decorate('events', sink as unknown as EventSink);
    },
    { name: 'ingest-events', dependencies: ['tracker-metrics'] },
  ),
);
await app.register(healthPlugin, { checks: { kafka: () => true } });
const intake = new Intake(app, config, queryAllowList(config.INGEST_URL_QUERY_ALLOW));
await app.register(eventsRoutes, { config, intake, segment: new SegmentIntake(intake) });

const stop = async () => {
  await app.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
await app.listen({ host: config.HOST, port: config.PORT });
