/**
 * The whole stack for the reliability tests: a database and topics of their own, and the three built
 * services as child processes (`node apps/<svc>/dist/server.js`), optionally behind TCP proxies the
 * test cuts to simulate a Kafka or PostgreSQL outage. Test code only (it ships in test-utils' dist,
 * which nothing deploys).
 */
import { randomUUID } from 'node:crypto';
import { createKafka } from '@tracker/kafka';
import type { Admin, Kafka } from 'kafkajs';
import { createTestDatabase, type TestDatabase, uniqueName } from '../database.js';
import { groupOffsets, topicEndOffset, waitGroupCaughtUp } from '../kafka.js';
import { type ServiceName, type ServiceProcess, spawnService } from '../services.js';
import { stackConfig } from '../stack.js';
import { startTcpProxy, type TcpProxy } from '../tcp-proxy.js';
import { waitFor } from '../wait.js';

export interface PipelineOptions {
  /** Partitions of the interactions topic. */
  partitions?: number;
  /**
   * Put a cuttable proxy between the ingest/processor children and Kafka (every broker connection,
   * bootstrap and advertised alike, is rerouted through it; see net-redirect.ts).
   */
  kafkaProxy?: boolean;
  /** Put a cuttable proxy between the processor and PostgreSQL. */
  databaseProxy?: boolean;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Listen on this port (a restarted service keeps its address). */
  port?: number;
}

export class Pipeline {
  readonly services: ServiceProcess[] = [];

  private constructor(
    readonly name: string,
    readonly db: TestDatabase,
    readonly kafka: Kafka,
    /** Connected admin client, straight to the broker (never through the proxy). */
    readonly admin: Admin,
    readonly topics: { interactions: string; apiHits: string; dlq: string },
    readonly groupId: string,
    readonly kafkaProxy: TcpProxy | undefined,
    readonly databaseProxy: TcpProxy | undefined,
  ) {}

  static async create(name: string, options: PipelineOptions = {}): Promise<Pipeline> {
    const stack = stackConfig();
    const db = await createTestDatabase(name);
    const kafka = createKafka({ ...stack, KAFKA_CLIENT_ID: `reliability-${name}` });
    const admin = kafka.admin();
    await admin.connect();
    const interactions = uniqueName(`rel_${name}`);
    const topics = { interactions, apiHits: `${interactions}.api-hits`, dlq: `${interactions}.dlq` };
    await admin.createTopics({
      topics: [
        { topic: topics.interactions, numPartitions: options.partitions ?? 3 },
        { topic: topics.apiHits, numPartitions: 1 },
        { topic: topics.dlq, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    const kafkaProxy = options.kafkaProxy ? await startTcpProxy(stack.KAFKA_BROKERS[0]!) : undefined;
    const dbUrl = new URL(db.url);
    const databaseProxy = options.databaseProxy
      ? await startTcpProxy(`${dbUrl.hostname}:${dbUrl.port || 5432}`)
      : undefined;
    return new Pipeline(
      name,
      db,
      kafka,
      admin,
      topics,
      uniqueName(`rel_${name}_group`),
      kafkaProxy,
      databaseProxy,
    );
  }

  /** kafkajs connects to the bootstrap address and then to the advertised one: reroute both. */
  #kafkaRedirect(): Record<string, string> | undefined {
    if (!this.kafkaProxy) return undefined;
    const to = `127.0.0.1:${this.kafkaProxy.port}`;
    const redirect: Record<string, string> = {};
    for (const broker of stackConfig().KAFKA_BROKERS) {
      const port = broker.slice(broker.lastIndexOf(':') + 1);
      for (const host of [broker.slice(0, broker.lastIndexOf(':')), '127.0.0.1', 'localhost'])
        redirect[`${host}:${port}`] = to;
    }
    return redirect;
  }

  #common(): Record<string, string> {
    const stack = stackConfig();
    return { KAFKA_BROKERS: stack.KAFKA_BROKERS.join(','), SCHEMA_REGISTRY_URL: stack.SCHEMA_REGISTRY_URL };
  }

  env(service: ServiceName): Record<string, string> {
    switch (service) {
      case 'ingest':
        return {
          ...this.#common(),
          INGEST_TOPIC: this.topics.interactions,
          INGEST_API_HITS_TOPIC: this.topics.apiHits,
          INGEST_API_HITS_INTERVAL_MS: '500',
          INGEST_RATE_LIMIT_MAX: '0',
          INGEST_RETRY_AFTER_S: '2',
        };
      case 'processor':
        return {
          ...this.#common(),
          DATABASE_URL: this.databaseProxy ? this.databaseProxy.url(this.db.url) : this.db.url,
          PROCESSOR_TOPIC: this.topics.interactions,
          PROCESSOR_API_HITS_TOPIC: this.topics.apiHits,
          PROCESSOR_DLQ_TOPIC: this.topics.dlq,
          PROCESSOR_GROUP_ID: this.groupId,
          PROCESSOR_LAG_INTERVAL_MS: '500',
          PROCESSOR_SESSION_TIMEOUT_MS: '10000',
          PROCESSOR_HEARTBEAT_INTERVAL_MS: '1000',
          PROCESSOR_RETRY_INITIAL_MS: '100',
          PROCESSOR_RETRY_MAX_DELAY_MS: '1000',
        };
      case 'query':
        return {
          ...this.#common(),
          DATABASE_URL: this.db.url,
          QUERY_DLQ_TOPIC: this.topics.dlq,
          QUERY_DLQ_CACHE_MS: '0',
          QUERY_RATE_LIMIT_MAX: '0',
        };
    }
  }

  /** Starts a service on this pipeline's topics and database; waits until /readyz is 200. */
  async start(service: ServiceName, { env = {}, port }: StartOptions = {}): Promise<ServiceProcess> {
    const redirect = service === 'query' ? undefined : this.#kafkaRedirect();
    const process = await spawnService(service, {
      env: { ...this.env(service), ...env },
      ...(redirect ? { redirect } : {}),
      ...(port ? { port } : {}),
    });
    this.services.push(process);
    await process.ready();
    return process;
  }

  /** Per partition: end offset and the processors' committed offset on the interactions topic. */
  offsets() {
    return groupOffsets(this.admin, this.topics.interactions, this.groupId);
  }

  /** Messages on a topic (sum of high watermarks). */
  endOffset(topic: string = this.topics.interactions) {
    return topicEndOffset(this.admin, topic);
  }

  /** Waits until the processors have committed every offset of the interactions topic. */
  waitCaughtUp(timeoutMs = 120_000) {
    return waitGroupCaughtUp(this.admin, this.topics.interactions, this.groupId, timeoutMs);
  }

  async count(table: 'interactions' | 'identifies' = 'interactions'): Promise<number> {
    const { rows } = await this.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    return rows[0]!.n;
  }

  /** Waits until `table` holds at least `n` rows. */
  waitForRows(n: number, timeoutMs = 120_000, table: 'interactions' | 'identifies' = 'interactions') {
    return waitFor(async () => ((await this.count(table)) >= n ? true : undefined), {
      timeoutMs,
      intervalMs: 250,
      what: `${n} rows in ${table}`,
    });
  }

  /** Every stored eventId of the interactions table. */
  async storedIds(): Promise<Set<string>> {
    const { rows } = await this.db.pool.query<{ id: string }>(
      'SELECT event_id::text AS id FROM interactions',
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Which of `eventIds` are in a message of the interactions topic (read from the beginning by a
   * throw-away group; the Avro value carries the id as plain text): "partition:offset" per id found.
   */
  async findOnTopic(eventIds: string[], timeoutMs = 30_000): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const end = await this.endOffset();
    let read = 0;
    const consumer = this.kafka.consumer({ groupId: uniqueName(`rel_${this.name}_scan`) });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topics.interactions, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        read += 1;
        const text = message.value?.toString('latin1') ?? '';
        for (const id of eventIds) if (text.includes(id)) found.set(id, `${partition}:${message.offset}`);
      },
    });
    try {
      await waitFor(() => read >= end, { timeoutMs, what: `${end} messages read back` });
    } finally {
      await consumer.disconnect();
    }
    return found;
  }

  async close(): Promise<void> {
    await this.kafkaProxy?.restore().catch(() => {});
    await this.databaseProxy?.restore().catch(() => {});
    await Promise.all(this.services.map((s) => s.stop(10_000)));
    await this.kafkaProxy?.close();
    await this.databaseProxy?.close();
    await this.admin
      .deleteTopics({ topics: [this.topics.interactions, this.topics.apiHits, this.topics.dlq] })
      .catch(() => {});
    await this.admin.disconnect();
    await this.db.drop();
  }
}

/** Sum of a Prometheus metric's samples at `url`/metrics (only lines containing `having`). */
export async function metric(url: string, name: string, having = ''): Promise<number> {
  const body = await (await fetch(`${url}/metrics`)).text();
  return body
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(having))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

export interface EventBody {
  eventId: string;
  userId: string;
  role: 'ADMIN' | 'USER' | 'GUEST';
  action: string;
  page: string;
  timestamp: string;
  sessionId?: string;
  properties?: Record<string, string | number | boolean>;
}

/** `n` valid events with fresh eventIds, spread over users, roles, actions and pages. */
export function makeEvents(n: number, prefix: string, start = Date.now() - 3_600_000): EventBody[] {
  return Array.from({ length: n }, (_, i) => ({
    eventId: randomUUID(),
    userId: `${prefix}-user-${i % 250}`,
    role: (['ADMIN', 'USER', 'GUEST'] as const)[i % 3]!,
    action: ['page_view', 'click', 'form_submit', 'signup'][i % 4]!,
    page: `/${prefix}/p/${i % 40}`,
    timestamp: new Date(start + i).toISOString(),
  }));
}

export interface SendResult {
  /** eventIds answered 202. */
  accepted: string[];
  /** Status codes of every answer, counted. */
  statuses: Map<number, number>;
  /** eventIds of requests that were answered 503 (and never retried to a 202). */
  unavailable: string[];
  /** Requests that got no HTTP answer at all. */
  networkErrors: number;
}

/**
 * POSTs `events` to ingest's /v1/batch in batches, `concurrency` requests in flight. With `retry`,
 * a 503, 429 or network error is retried (after its Retry-After, capped at 1 s) until it is answered,
 * as a client would; without, every outcome is recorded as it came.
 */
export async function sendBatches(
  ingestUrl: string,
  events: EventBody[],
  {
    batchSize = 500,
    concurrency = 4,
    retry = true,
    headers = {},
    signal,
  }: {
    batchSize?: number;
    concurrency?: number;
    retry?: boolean;
    headers?: Record<string, string>;
    signal?: AbortSignal;
  } = {},
): Promise<SendResult> {
  const result: SendResult = { accepted: [], statuses: new Map(), unavailable: [], networkErrors: 0 };
  const batches: EventBody[][] = [];
  for (let i = 0; i < events.length; i += batchSize) batches.push(events.slice(i, i + batchSize));
  let next = 0;
  const worker = async () => {
    while (next < batches.length && !signal?.aborted) {
      const batch = batches[next++]!;
      for (;;) {
        let status = 0;
        let retryAfter = 1;
        try {
          const response = await fetch(`${ingestUrl}/v1/batch`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify({ events: batch }),
          });
          status = response.status;
          retryAfter = Number(response.headers.get('retry-after') ?? 1);
          await response.body?.cancel();
        } catch {
          result.networkErrors += 1;
        }
        if (status) result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
        if (status === 202) {
          for (const e of batch) result.accepted.push(e.eventId);
          break;
        }
        const retriable = status === 503 || status === 429 || status === 0;
        if (!retry || !retriable || signal?.aborted) {
          if (status === 503) for (const e of batch) result.unavailable.push(e.eventId);
          break;
        }
        await new Promise((r) => setTimeout(r, Math.min(retryAfter, 1) * 1000));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return result;
}

/**
 * A steady client load on ingest's /v1/batch: `workers` clients each send a batch of `batchSize`
 * fresh events, wait `pauseMs`, and go again, never retrying (each answer is recorded as it came).
 */
export class SteadyLoad {
  readonly accepted: string[] = [];
  readonly unavailable: string[] = [];
  readonly statuses = new Map<number, number>();
  /** Bodies of answers that were neither 202 nor 503 (at most 20 kept). */
  readonly unexpected: string[] = [];
  networkErrors = 0;
  #running = false;
  #workers: Promise<void>[] = [];
  #sequence = 0;

  constructor(
    readonly ingestUrl: string,
    readonly options: { workers?: number; batchSize?: number; pauseMs?: number; prefix?: string } = {},
  ) {}

  start(): this {
    this.#running = true;
    const { workers = 3, batchSize = 10, pauseMs = 20, prefix = 'steady' } = this.options;
    this.#workers = Array.from({ length: workers }, async () => {
      while (this.#running) {
        this.#sequence += batchSize;
        const events = makeEvents(batchSize, prefix, Date.now() - 60_000 + this.#sequence);
        let status = 0;
        try {
          const response = await fetch(`${this.ingestUrl}/v1/batch`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ events }),
            signal: AbortSignal.timeout(30_000),
          });
          status = response.status;
          const body = await response.text();
          if (status !== 202 && status !== 503 && this.unexpected.length < 20)
            this.unexpected.push(`${status} ${body}`);
        } catch {
          this.networkErrors += 1;
        }
        if (status) this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
        const ids = events.map((e) => e.eventId);
        if (status === 202) this.accepted.push(...ids);
        else if (status === 503) this.unavailable.push(...ids);
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    });
    return this;
  }

  /** Resolves once `n` more events than now have been accepted. */
  async acceptMore(n: number, timeoutMs = 60_000): Promise<void> {
    const target = this.accepted.length + n;
    await waitFor(() => this.accepted.length >= target, {
      timeoutMs,
      what: `${n} more events accepted by ingest`,
    });
  }

  async stop(): Promise<this> {
    this.#running = false;
    await Promise.all(this.#workers);
    return this;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** GET <url>/readyz: its status code (0 when nothing answered). */
export async function readyStatus(url: string): Promise<number> {
  const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  await response?.body?.cancel();
  return response?.status ?? 0;
}
