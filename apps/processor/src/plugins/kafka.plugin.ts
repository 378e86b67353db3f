import { BatchingProducer, createKafka, createRegistry, InteractionSerde } from '@tracker/kafka';
import type { Logger } from '@tracker/logger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Admin, Kafka } from 'kafkajs';
import type { ProcessorConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    kafka: {
      client: Kafka;
      serde: InteractionSerde;
      /** Producer for the dead-letter topic (idempotent, acks=all). */
      dlq: BatchingProducer;
      admin: Admin;
    };
  }
}

export interface KafkaPluginOptions {
  config: ProcessorConfig;
}

/** Kafka client, schema registry serde, dead-letter producer and admin client (lag). */
export const kafkaPlugin = fp<KafkaPluginOptions>(
  async (app: FastifyInstance, { config }) => {
    const logger = app.log as unknown as Logger;
    const client = createKafka(config, logger);
    const serde = new InteractionSerde(createRegistry(config), `${config.PROCESSOR_TOPIC}-value`);
    const dlq = new BatchingProducer(client, {
      topic: config.PROCESSOR_DLQ_TOPIC,
      logger,
      timeoutMs: 10_000,
    });
    const admin = client.admin();
    app.decorate('kafka', { client, serde, dlq, admin });
    app.addHook('onReady', async () => {
      await Promise.all([dlq.connect(), admin.connect()]);
    });
    app.addHook('onClose', async () => {
      await dlq
        .close()
        .catch((error: Error) => app.log.warn({ msg: 'dlq_close_failed', err: error.message }));
      await admin.disconnect().catch(() => {});
    });
  },
  { name: 'processor-kafka', dependencies: [] },
);
