import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The ingest service's own Prometheus metrics, on the registry packages/http serves at /metrics. */
export function createIngestMetrics(
  registry: Registry,
  healthy: () => boolean,
  queuedBytes: () => number = () => 0,
) {
  return {
    accepted: new Counter({
      name: 'ingest_events_accepted_total',
      help: 'Events acknowledged by Kafka, by route',
      labelNames: ['route'] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'ingest_events_rejected_total',
      help: 'Events refused, by route and reason (schema, too_large, action, page, future, past, unparseable)',
      labelNames: ['route', 'reason'] as const,
      registers: [registry],
    }),
    unavailable: new Counter({
      name: 'ingest_events_unavailable_total',
      help: 'Events answered 503 because Kafka did not acknowledge them, by route',
      labelNames: ['route'] as const,
      registers: [registry],
    }),
    busy: new Counter({
      name: 'ingest_events_busy_total',
      help: 'Events answered 503 INGEST_BUSY because INGEST_PRODUCER_QUEUE_MAX_BYTES was reached, by route',
      labelNames: ['route'] as const,
      registers: [registry],
    }),
    producerQueuedBytes: new Gauge({
      name: 'ingest_producer_queued_bytes',
      help: 'Bytes of encoded events waiting for Kafka to acknowledge them (INGEST_PRODUCER_QUEUE_MAX_BYTES bounds it)',
      registers: [registry],
      collect() {
        this.set(queuedBytes());
      },
    }),
    produceSeconds: new Histogram({
      name: 'ingest_produce_duration_seconds',
      help: 'Time from handing a producer batch to Kafka until it was acknowledged',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    producerBatchMessages: new Histogram({
      name: 'ingest_producer_batch_messages',
      help: 'Messages per acknowledged producer batch (concurrent requests share a batch)',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000],
      registers: [registry],
    }),
    requestEvents: new Histogram({
      name: 'ingest_request_events',
      help: 'Events per request, by route',
      labelNames: ['route'] as const,
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers: [registry],
    }),
    kafkaUp: new Gauge({
      name: 'ingest_kafka_up',
      help: '1 while the producer can reach Kafka, 0 during an outage',
      registers: [registry],
      collect() {
        this.set(healthy() ? 1 : 0);
      },
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
