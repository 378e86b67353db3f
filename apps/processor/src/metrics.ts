import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The processor's Prometheus metrics, registered on the app's registry (GET /metrics). */
export function createProcessorMetrics(registry: Registry) {
  const registers = [registry];
  return {
    consumed: new Counter({
      name: 'processor_messages_consumed_total',
      help: 'Kafka messages received, by topic',
      labelNames: ['topic'] as const,
      registers,
    }),
    inserted: new Counter({
      name: 'processor_events_inserted_total',
      help: 'Rows stored for the first time, by kind (track, identify, api_hits)',
      labelNames: ['kind'] as const,
      registers,
    }),
    duplicates: new Counter({
      name: 'processor_duplicates_skipped_total',
      help: 'Redelivered events skipped because their eventId (or api-hits batchId) was already stored',
      labelNames: ['kind'] as const,
      registers,
    }),
    deadLettered: new Counter({
      name: 'processor_dead_lettered_total',
      help: 'Poison messages sent to the dead-letter topic, by reason code',
      labelNames: ['reason'] as const,
      registers,
    }),
    retries: new Counter({
      name: 'processor_retries_total',
      help: 'Retries during outages, by dependency',
      labelNames: ['dependency'] as const,
      registers,
    }),
    sessions: new Counter({
      name: 'processor_sessions_refreshed_total',
      help: 'Sessions table upkeep per batch: sessions extended in place (appended), spans recomputed from raw rows (recomputed)',
      labelNames: ['how'] as const,
      registers,
    }),
    batchSize: new Histogram({
      name: 'processor_batch_size',
      help: 'Messages per processed batch',
      buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    }),
    batchDuration: new Histogram({
      name: 'processor_batch_duration_seconds',
      help: 'Time from receiving a batch to committing its offsets',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    lag: new Gauge({
      name: 'processor_consumer_lag',
      help: 'Messages not yet committed by the consumer group, per topic and partition',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    newestEvent: new Gauge({
      name: 'processor_newest_event_timestamp_seconds',
      help: 'occurred_at of the newest stored interaction (Unix seconds)',
      registers,
    }),
    lastBatch: new Gauge({
      name: 'processor_last_batch_timestamp_seconds',
      help: 'When this instance last committed a batch (Unix seconds)',
      registers,
    }),
  };
}

export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>;
