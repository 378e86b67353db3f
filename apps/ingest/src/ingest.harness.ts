/**
 * Test support for the ingest integration tests (not part of the build): config for the native
 * stack, per-file topics, a topic reader that decodes through the registry, and a network switch
 * that cuts the producer off from Kafka without touching the shared broker.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { createKafka, createRegistry, createTopicsAndWait, InteractionSerde } from '@tracker/kafka';
import type { InteractionRecord } from '@tracker/schemas';
import { stackConfig, uniqueName, waitFor } from '@tracker/test-utils';
import type { ISocketFactory, Kafka } from 'kafkajs';
import { type IngestConfig, loadIngestConfig } from './config.js';

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
  await createTopicsAndWait(admin, [
    { topic: interactions, numPartitions: partitions },
    { topic: apiHits, numPartitions: 1 },
  ]);
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
  /** Header names and values as text. */
  headers: Record<string, string>;
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
            headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
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
  async records(): Promise<(InteractionRecord & { key: string; headers: Record<string, string> })[]> {
    return Promise.all(
      this.messages.map(async (m) => ({
        ...(await this.#serde.decode(m.value)),
        key: m.key,
        headers: m.headers,
      })),
    );
  }

  async waitForRecord(
    predicate: (r: InteractionRecord) => boolean,
    what: string,
  ): Promise<InteractionRecord & { key: string; headers: Record<string, string> }> {
    return waitFor(async () => (await this.records()).find(predicate), { timeoutMs: 30_000, what });
  }

  async stop(): Promise<void> {
    await this.#consumer.disconnect();
  }
}

/**
 * A TCP proxy in front of the (single) test broker, and a kafkajs socket factory that sends every
 * connection the client opens through it: bootstrap and the advertised 127.0.0.1:9092 alike (a proxy
 * named only in KAFKA_BROKERS would be bypassed once metadata names the real listener).
 * `cut()` closes the listener (new connections are refused) and destroys the proxied connections,
 * so the client sees its sockets end, exactly as when the broker process stops; `restore()` listens
 * on the same port again. The shared broker itself is never touched.
 */
export class KafkaProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #port = 0;

  constructor(readonly target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      const upstream = connect(target);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.once('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
      }
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
  }

  static forStack(): KafkaProxy {
    const [host, port] = stackConfig().KAFKA_BROKERS[0]!.split(':');
    return new KafkaProxy({ host: host!, port: Number(port) });
  }

  /** Routes every broker connection through the proxy, whatever address kafkajs asks for. */
  readonly socketFactory: ISocketFactory = ({ onConnect }) => {
    const socket = connect({ host: '127.0.0.1', port: this.#port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    return socket;
  };

  async start(): Promise<this> {
    await this.#listen(this.#port);
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  async restore(): Promise<void> {
    await this.#listen(this.#port);
  }

  async stop(): Promise<void> {
    if (this.#server.listening) await this.cut();
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }
}
