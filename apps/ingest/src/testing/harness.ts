/**
 * Test support for the ingest integration tests (not part of the build): config for the native
 * stack, per-file topics, a topic reader that decodes through the registry, and a network switch
 * that cuts the producer off from Kafka without touching the shared broker.
 */
import { connect, type Socket } from 'node:net';
import { createKafka, createRegistry, InteractionSerde } from '@tracker/kafka';
import type { InteractionRecord } from '@tracker/schemas';
import { stackConfig, uniqueName, waitFor } from '@tracker/test-utils';
import type { ISocketFactory, Kafka } from 'kafkajs';
import { type IngestConfig, loadIngestConfig } from '../config.js';

/** Every test file registers the same schema under this subject, never the production one. */
export const TEST_SUBJECT = 'ingest-it-value';

export function testConfig(env: Record<string, string> = {}): IngestConfig {
  const stack = stackConfig();
  return loadIngestConfig({
    LOG_LEVEL: 'silent',
    KAFKA_BROKERS: stack.KAFKA_BROKERS.join(','),
    SCHEMA_REGISTRY_URL: stack.SCHEMA_REGISTRY_URL,
    INGEST_SUBJECT: TEST_SUBJECT,
    ...env,
  });
}

export function testKafka(): Kafka {
  return createKafka({ ...stackConfig(), KAFKA_CLIENT_ID: 'ingest-it' });
}

/** Creates topics with unique names (interactions and api hits) and deletes them in `drop`. */
export async function testTopics(kafka: Kafka, prefix: string, partitions = 3) {
  const interactions = uniqueName(`${prefix}_interactions`);
  const apiHits = uniqueName(`${prefix}_api_hits`);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: interactions, numPartitions: partitions },
      { topic: apiHits, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  return {
    interactions,
    apiHits,
    async drop() {
      await admin.deleteTopics({ topics: [interactions, apiHits] }).catch(() => {});
      await admin.disconnect();
    },
  };
}

export interface ReadMessage {
  key: string;
  value: Buffer;
  partition: number;
}

/** Reads a topic from the beginning in its own consumer group and keeps every message. */
export class TopicReader {
  readonly messages: ReadMessage[] = [];
  readonly #consumer;
  readonly #serde = new InteractionSerde(createRegistry(stackConfig()), TEST_SUBJECT);

  constructor(
    kafka: Kafka,
    readonly topic: string,
  ) {
    this.#consumer = kafka.consumer({ groupId: uniqueName('ingest_it_reader'), maxWaitTimeInMs: 200 });
  }

  async start(): Promise<this> {
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.#consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          this.messages.push({
            key: m.key?.toString() ?? '',
            value: m.value ?? Buffer.alloc(0),
            partition: batch.partition,
          });
        }
      },
    });
    return this;
  }

  /** Waits until `n` messages were read (then a moment more to see any extra), returns them all. */
  async waitForCount(n: number, timeoutMs = 30_000): Promise<ReadMessage[]> {
    await waitFor(() => this.messages.length >= n, {
      timeoutMs,
      what: `${n} messages on ${this.topic} (have ${this.messages.length})`,
    });
    await new Promise((r) => setTimeout(r, 300));
    return this.messages;
  }

  /** Decodes every message read so far through the registry (Confluent wire format + Avro). */
  async records(): Promise<(InteractionRecord & { key: string })[]> {
    return Promise.all(
      this.messages.map(async (m) => ({ ...(await this.#serde.decode(m.value)), key: m.key })),
    );
  }

  async waitForRecord(
    predicate: (r: InteractionRecord) => boolean,
    what: string,
  ): Promise<InteractionRecord & { key: string }> {
    return waitFor(async () => (await this.records()).find(predicate), { timeoutMs: 30_000, what });
  }

  async stop(): Promise<void> {
    await this.#consumer.disconnect();
  }
}

/**
 * Stands between the producer and Kafka: every broker connection kafkajs opens (bootstrap and the
 * advertised 127.0.0.1:9092 alike) goes through this socket factory. `cut()` destroys the open
 * connections and sends new ones to a closed port (connection refused, as with a stopped broker);
 * `restore()` lets them through again. The shared broker itself is never touched.
 */
export class NetworkSwitch {
  #down = false;
  readonly #sockets = new Set<Socket>();
  readonly socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const socket = this.#down ? connect({ host: '127.0.0.1', port: 1 }) : connect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    return socket;
  };

  cut(): void {
    this.#down = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  restore(): void {
    this.#down = false;
  }
}
