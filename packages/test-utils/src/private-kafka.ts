/**
 * A single-node KRaft Kafka broker of a test's own, for tests that must stop and restart the broker
 * (the shared one on 9092 is never stopped). Started as `./tracker infra` starts Kafka: the jars in
 * .local/kafka/libs, infra/native/kafka/server.properties with free ports and a data dir under a
 * temp dir, `StorageTool format`, then `kafka.Kafka`. Test code only.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, type WriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafka } from '@tracker/kafka';
import { freePort, REPO_ROOT } from './services.js';
import { waitFor } from './wait.js';

const LIBS = join(REPO_ROOT, '.local', 'kafka', 'libs');
const TEMPLATE = join(REPO_ROOT, 'infra', 'native', 'kafka', 'server.properties');
const LOG4J = `-Dlog4j2.configurationFile=${join(REPO_ROOT, 'infra', 'native', 'kafka', 'log4j2.yaml')}`;
// The JVM flags of the tracker script (Kafka's own kafka-run-class.sh), with a smaller heap.
const JVM_FLAGS = [
  '-Xms128m',
  '-Xmx512m',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-Djava.awt.headless=true',
];

export interface PrivateKafka {
  /** "127.0.0.1:<port>", for KAFKA_BROKERS. */
  readonly broker: string;
  /** The temp dir holding server.properties, the data dir and kafka.log. */
  readonly dir: string;
  /** True while the broker process runs. */
  readonly running: boolean;
  /** The last 8 000 characters the broker logged. */
  logTail(): string;
  /** Starts the broker again on the same ports and data (after stop or kill); waits until it answers. */
  start(): Promise<void>;
  /** SIGTERM (controlled shutdown), SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL. */
  kill(): Promise<void>;
  /** Stops the broker and deletes its directory. */
  close(): Promise<void>;
}

export interface PrivateKafkaOptions {
  /** Extra or replaced server.properties lines. */
  properties?: Record<string, string>;
  /** How long start() waits for the broker to answer. Default 90 s. */
  readyTimeoutMs?: number;
}

/** Java 17+ as the tracker script finds it: `java` on PATH, else the newest under /usr/lib/jvm. */
function findJava(): string {
  const works = (java: string) => spawnSync(java, ['-version'], { stdio: 'ignore' }).status === 0;
  if (works('java')) return 'java';
  const jvms = existsSync('/usr/lib/jvm') ? readdirSync('/usr/lib/jvm').sort().reverse() : [];
  for (const jvm of jvms) {
    const java = join('/usr/lib/jvm', jvm, 'bin', 'java');
    if (existsSync(java) && works(java)) return java;
  }
  throw new Error('no java found (Kafka needs Java 17+): apt-get install openjdk-17-jre-headless');
}

/** A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting with "-". */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Starts a private broker (formatting its storage first) and waits until it answers. */
export async function startPrivateKafka(options: PrivateKafkaOptions = {}): Promise<PrivateKafka> {
  if (!existsSync(LIBS))
    throw new Error(`${LIBS} is missing: run ./tracker infra once to fetch the Kafka jars`);
  const java = findJava();
  const classpath = join(LIBS, '*');
  const dir = await mkdtemp(join(tmpdir(), 'tracker-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const broker = `127.0.0.1:${port}`;
  const template = await readFile(TEMPLATE, 'utf8');
  const lines = template
    .replaceAll('@DATA_DIR@', join(dir, 'data'))
    .replaceAll('127.0.0.1:9092', broker)
    .replaceAll('127.0.0.1:9093', `127.0.0.1:${controllerPort}`)
    .split('\n')
    .filter((line) => !Object.keys(options.properties ?? {}).some((key) => line.startsWith(`${key}=`)));
  for (const [key, value] of Object.entries(options.properties ?? {})) lines.push(`${key}=${value}`);
  const props = join(dir, 'server.properties');
  await writeFile(props, `${lines.join('\n')}\n`);

  const log: WriteStream = createWriteStream(join(dir, 'kafka.log'), { flags: 'a' });
  let tail = '';
  const record = (data: Buffer) => {
    log.write(data);
    tail = (tail + data.toString()).slice(-8000);
  };
  const format = spawnSync(
    java,
    ['-cp', classpath, LOG4J, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', props],
    { encoding: 'utf8' },
  );
  if (format.status !== 0) throw new Error(`kafka storage format failed:\n${format.stdout}${format.stderr}`);

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  // A test that dies leaves no broker behind.
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const start = async () => {
    if (isRunning()) return;
    const proc = spawn(java, [...JVM_FLAGS, '-cp', classpath, LOG4J, 'kafka.Kafka', props], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stdout?.on('data', record);
    proc.stderr?.on('data', record);
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const admin = createKafka(
      { KAFKA_BROKERS: [broker], KAFKA_CLIENT_ID: 'private-kafka-probe' },
      undefined,
      { retry: { retries: 0 }, connectionTimeout: 1000 },
    ).admin();
    try {
      await waitFor(
        async () => {
          if (proc.exitCode !== null || proc.signalCode !== null)
            throw new Error(`Kafka exited during start-up\n${tail}`);
          await admin.connect();
          const { brokers } = await admin.describeCluster();
          return brokers.length > 0;
        },
        { timeoutMs: options.readyTimeoutMs ?? 90_000, intervalMs: 500, what: `Kafka at ${broker}` },
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n--- kafka.log ---\n${tail}`);
      });
    } finally {
      await admin.disconnect().catch(() => {});
    }
  };

  const stop = async (graceMs = 30_000) => {
    if (!isRunning()) return exited;
    child?.kill('SIGTERM');
    const timer = setTimeout(() => child?.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  try {
    await start();
  } catch (error) {
    await stop(5000);
    log.end();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    broker,
    dir,
    get running() {
      return isRunning();
    },
    logTail: () => tail,
    start,
    stop,
    async kill() {
      if (isRunning()) child?.kill('SIGKILL');
      await exited;
    },
    async close() {
      await stop(10_000);
      process.removeListener('exit', killOnExit);
      await new Promise<void>((resolve) => log.end(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
