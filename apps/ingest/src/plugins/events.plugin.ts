import { randomUUID } from 'node:crypto';
import { HttpError } from '@tracker/http';
import {
  BatchingProducer,
  BrokerUnavailableError,
  createKafka,
  createRegistry,
  InteractionSerde,
  type OutgoingMessage,
  ProducerBusyError,
} from '@tracker/kafka';
import type { Logger } from '@tracker/logger';
import { type ApiHitsMessage, type InteractionRecord, ROLE_UNSET_HEADER } from '@tracker/schemas';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { KafkaConfig } from 'kafkajs';
import type { IngestConfig } from '../config.js';
import { createIngestMetrics, type IngestMetrics } from '../metrics.js';
import { ROLE_UNSET } from '../normalize.js';

/** The headers of a record sent without a role (see ROLE_UNSET_HEADER). */
const UNSET_HEADERS = { [ROLE_UNSET_HEADER]: '1' };

declare module 'fastify' {
  interface FastifyInstance {
    /** Avro encoding through the registry and the batching producer to the interactions topic. */
    events: EventSink;
  }
}

/** Where accepted events go: encodes them and resolves only once Kafka acknowledged them. */
export class EventSink {
  constructor(
    readonly serde: InteractionSerde,
    readonly producer: BatchingProducer,
    readonly apiHitsProducer: BatchingProducer,
    readonly metrics: IngestMetrics,
    readonly retryAfterSeconds: number,
  ) {}

  /** True while the producer reaches Kafka (readiness). */
  get healthy(): boolean {
    return this.producer.healthy;
  }

  /**
   * Encodes and produces the records (key = userId) and resolves once Kafka acknowledged all of them.
   * A broker outage becomes HttpError 503 with Retry-After: the caller must not answer 202; so does a
   * full producer queue (INGEST_BUSY), unless `unbounded` (imports: their own window bounds them).
   */
  async publish(
    records: InteractionRecord[],
    route: string,
    options: { unbounded?: boolean } = {},
  ): Promise<void> {
    if (records.length === 0) return;
    if (!this.producer.healthy) throw this.unavailable(records.length, route);
    const messages: OutgoingMessage[] = records.map((r) =>
      ROLE_UNSET.has(r)
        ? { key: r.userId, value: this.serde.encodeSync(r), headers: UNSET_HEADERS }
        : { key: r.userId, value: this.serde.encodeSync(r) },
    );
    try {
      await this.producer.send(messages, options);
    } catch (error) {
      if (error instanceof BrokerUnavailableError) throw this.unavailable(records.length, route);
      if (error instanceof ProducerBusyError) throw this.busy(records.length, route);
      throw error;
    }
    this.metrics.accepted.inc({ route }, records.length);
  }

  unavailable(events: number, route: string): HttpError {
    this.metrics.unavailable.inc({ route }, events);
    return this.#retryLater(
      'BROKER_UNAVAILABLE',
      // NOTE: not "nothing was written": a send whose acknowledgement timed out may still land.
      'the event log (Kafka) did not acknowledge these events; some may have been stored all the same: ' +
        'resend them unchanged, with the same eventId, after Retry-After (an eventId is stored once)',
    );
  }

  /** The producer's queue is full (INGEST_PRODUCER_QUEUE_MAX_BYTES): refused before anything was sent. */
  busy(events: number, route: string): HttpError {
    this.metrics.busy.inc({ route }, events);
    return this.#retryLater(
      'INGEST_BUSY',
      'more events wait for the event log (Kafka) than INGEST_PRODUCER_QUEUE_MAX_BYTES allows; ' +
        'none of these was written: resend them after Retry-After',
    );
  }

  #retryLater(code: string, message: string): HttpError {
    return new HttpError(503, code, message, [], { 'retry-after': String(this.retryAfterSeconds) });
  }

  /** The api-hits flush: one JSON delta per interval to the api-hits topic (the processor sums them once). */
  async publishApiHits(service: string, hits: number): Promise<void> {
    const message: ApiHitsMessage = { batchId: randomUUID(), service, hits, at: Date.now() };
    await this.apiHitsProducer.send([{ key: service, value: Buffer.from(JSON.stringify(message)) }]);
  }
}

export interface EventsPluginOptions {
  config: IngestConfig;
  /** kafkajs settings on top of the config. */
  kafka?: Partial<KafkaConfig>;
}

/** Registers `events`: registry schema (at boot), Kafka producers; flushes and disconnects on close. */
export const eventsPlugin = fp<EventsPluginOptions>(
  async (app: FastifyInstance, { config, kafka: overrides }) => {
    const log = app.log as unknown as Logger;
    const kafka = createKafka(config, log, overrides);
    const serde = new InteractionSerde(
      createRegistry(config),
      config.INGEST_SUBJECT ?? `${config.INGEST_TOPIC}-value`,
    );
    await registerWithRetry(serde, log);

    let metrics: IngestMetrics | undefined;
    // NOTE: settings holding functions (a test's socketFactory, an OAuth token provider) cannot
    // reach another thread: the producer then stays on this one.
    const threaded = config.INGEST_PRODUCER_THREAD && cloneable(overrides ?? {});
    const producer = new BatchingProducer(kafka, {
      ...(threaded ? { thread: { connection: config, overrides: overrides ?? {}, logger: log } } : {}),
      topic: config.INGEST_TOPIC,
      lingerMs: config.INGEST_PRODUCER_LINGER_MS,
      timeoutMs: config.INGEST_PRODUCER_TIMEOUT_MS,
      maxQueuedBytes: config.INGEST_PRODUCER_QUEUE_MAX_BYTES,
      logger: log,
      onBatch: (messages, ms) => {
        metrics?.producerBatchMessages.observe(messages);
        metrics?.produceSeconds.observe(ms / 1000);
      },
    });
    const apiHitsProducer = new BatchingProducer(kafka, {
      topic: config.INGEST_API_HITS_TOPIC,
      lingerMs: 0,
      timeoutMs: config.INGEST_PRODUCER_TIMEOUT_MS,
    });
    metrics = createIngestMetrics(
      app.metrics,
      () => producer.healthy,
      () => producer.outstandingBytes,
    );

    // NOTE: Kafka being down at boot is not fatal: the producer probes in the background, /readyz
    // says false and requests get 503 until the broker answers, then the service recovers by itself.
    for (const p of [producer, apiHitsProducer]) {
      await p
        .connect()
        .catch((error: Error) => log.warn({ msg: 'kafka_unavailable_at_boot', err: error.message }));
    }
    log.info({
      msg: 'ingest_producer_ready',
      topic: config.INGEST_TOPIC,
      schemaId: serde.schemaId,
      healthy: producer.healthy,
    });

    app.decorate(
      'events',
      new EventSink(serde, producer, apiHitsProducer, metrics, config.INGEST_RETRY_AFTER_S),
    );
    app.addHook('onClose', async () => {
      await producer.close();
      await apiHitsProducer.close();
      log.info({ msg: 'ingest_producer_closed' });
    });
  },
  { name: 'ingest-events', dependencies: ['tracker-metrics'] },
);

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** The registry must answer at boot (the schema id is needed to encode); retry briefly first. */
async function registerWithRetry(serde: InteractionSerde, log: Logger, attempts = 5): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await serde.register();
      return;
    } catch (error) {
      if (i >= attempts) throw error;
      log.warn({ msg: 'schema_registry_unavailable', attempt: i, err: (error as Error).message });
      await new Promise((r) => setTimeout(r, 1000 * i));
    }
  }
}
