import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createKafka } from '@tracker/kafka';
import { stackConfig, uniqueName, waitFor } from '@tracker/test-utils';

/** The built ingest and processor services (the e2e tier runs after `pnpm turbo run build`). */
const INGEST = fileURLToPath(new URL('../../ingest/dist/server.js', import.meta.url));
const PROCESSOR = fileURLToPath(new URL('../../processor/dist/server.js', import.meta.url));

export interface Pipeline {
  /** http://127.0.0.1:<port> of the ingest service. */
  ingest: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

interface Child {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(script: string, env: Record<string, string>): Child {
  if (!existsSync(script))
    throw new Error(`${script} is missing: build the services first (pnpm turbo run build)`);
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}

async function ready(url: string, child: Child, what: string): Promise<void> {
  await waitFor(
    async () => {
      if (child.process.exitCode !== null) throw new Error(`${what} exited: ${child.output()}`);
      const response = await fetch(`${url}/readyz`).catch(() => undefined);
      return response?.ok === true;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `${what} to be ready` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${child.output()}`);
  });
}

/**
 * The real pipeline in front of `databaseUrl`: ingest and processor as child processes (their built
 * servers) on topics of their own, so events sent over HTTP travel Kafka (Avro) and the processor
 * into the database the dashboard reads.
 */
export async function startPipeline(databaseUrl: string): Promise<Pipeline> {
  const stack = stackConfig();
  const kafka = createKafka({ ...stack, KAFKA_CLIENT_ID: 'dashboard-e2e' });
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueName('dash_interactions');
  const apiHits = `${topic}.api-hits`;
  const dlq = `${topic}.dlq`;
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 3 },
      { topic: apiHits, numPartitions: 1 },
      { topic: dlq, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  const kafkaEnv = {
    KAFKA_BROKERS: stack.KAFKA_BROKERS.join(','),
    SCHEMA_REGISTRY_URL: stack.SCHEMA_REGISTRY_URL,
  };
  const [processorPort, ingestPort] = [await freePort(), await freePort()];
  const children: Child[] = [];
  const close = async () => {
    for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGTERM');
    await Promise.all(
      children.map((c) => Promise.race([c.exited, new Promise((r) => setTimeout(r, 20_000))])),
    );
    for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await admin.deleteTopics({ topics: [topic, apiHits, dlq] }).catch(() => {});
    await admin.disconnect();
  };
  try {
    const processor = run(PROCESSOR, {
      ...kafkaEnv,
      DATABASE_URL: databaseUrl,
      PORT: String(processorPort),
      PROCESSOR_TOPIC: topic,
      PROCESSOR_API_HITS_TOPIC: apiHits,
      PROCESSOR_DLQ_TOPIC: dlq,
      PROCESSOR_GROUP_ID: uniqueName('dash_group'),
      PROCESSOR_LAG_INTERVAL_MS: '500',
      PROCESSOR_SESSION_TIMEOUT_MS: '10000',
      PROCESSOR_HEARTBEAT_INTERVAL_MS: '1000',
    });
    children.push(processor);
    const ingest = run(INGEST, {
      ...kafkaEnv,
      PORT: String(ingestPort),
      INGEST_TOPIC: topic,
      INGEST_API_HITS_TOPIC: apiHits,
      INGEST_API_HITS_INTERVAL_MS: '500',
    });
    children.push(ingest);
    const ingestUrl = `http://127.0.0.1:${ingestPort}`;
    await Promise.all([
      ready(`http://127.0.0.1:${processorPort}`, processor, 'the processor'),
      ready(ingestUrl, ingest, 'ingest'),
    ]);
    return { ingest: ingestUrl, close };
  } catch (error) {
    await close();
    throw error;
  }
}
