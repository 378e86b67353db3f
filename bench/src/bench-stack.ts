/**
 * Scratch resources and service processes for the benchmarks: a database and topics of their own
 * (created here, dropped at the end, never a developer's), the services started as child processes
 * from their built dist/server.js, and their memory read from /proc.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPool, ensureDatabase, migrate, pg } from '@tracker/db';
import { createKafka } from '@tracker/kafka';
import { databaseUrl, waitFor } from '@tracker/test-utils';
import type { Admin, Kafka } from 'kafkajs';
import type { BenchOptions } from './bench-config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Progress and notes go to stderr; stdout carries only the JSON result lines. */
export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function currentLoad(): number[] {
  return loadavg();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Dirty page-cache data (Dirty + Writeback in /proc/meminfo), MB; undefined where there is none. */
async function dirtyMb(): Promise<number | undefined> {
  const info = await readFile('/proc/meminfo', 'utf8').catch(() => undefined);
  if (info === undefined) return undefined;
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return (kb('Dirty') + kb('Writeback')) / 1024;
}

/**
 * Writes the page cache's dirty data out (`sync`) before a timed phase. The ingest rows leave ~1 GB
 * of Kafka log data unwritten; the kernel flushes it in bursts (measured: 900 MB dirty, then 6 MB
 * three seconds later), and a burst during one side of a comparison slowed every commit's WAL flush
 * on that side only: the pipeline row ran after ingest at 0.46 of its baseline, alone at 0.51–0.54.
 */
export async function settle(what: string): Promise<void> {
  const before = await dirtyMb();
  await promisify(execFile)('sync').catch(() => undefined);
  if (before !== undefined && before >= 64)
    log(`${what}: wrote out ${before.toFixed(0)} MB of dirty page cache first`);
}

/** A TCP port nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A database of our own on the configured server: created and migrated, dropped by `drop()`. */
export class ScratchDatabase {
  readonly url: string;
  readonly #adminUrl: string;
  #pool: pg.Pool | undefined;

  constructor(
    serverUrl: string,
    readonly name: string,
  ) {
    this.url = databaseUrl(serverUrl, name);
    this.#adminUrl = databaseUrl(serverUrl, 'postgres');
  }

  /** Creates (when missing) and migrates. Returns true when it was created now. */
  async create(): Promise<boolean> {
    const created = await ensureDatabase(this.url);
    await migrate(this.url);
    return created;
  }

  async exists(): Promise<boolean> {
    const admin = new pg.Client({ connectionString: this.#adminUrl });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [this.name]);
      return (rowCount ?? 0) > 0;
    } finally {
      await admin.end();
    }
  }

  /** A small pool for the bench's own queries (closed by drop() or close()). */
  get pool(): pg.Pool {
    this.#pool ??= createPool(this.url, 4, 'tracker-bench');
    return this.#pool;
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end();
  }

  async drop(): Promise<void> {
    await this.close();
    const admin = new pg.Client({ connectionString: this.#adminUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${this.name.replaceAll('"', '""')}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
}

/** Topics of our own (deleted by `drop()`), and consumer groups to forget at the end. */
export class ScratchTopics {
  readonly kafka: Kafka;
  readonly #admin: Admin;
  readonly #topics = new Set<string>();
  readonly #groups = new Set<string>();
  #connected = false;

  constructor(brokers: string[]) {
    this.kafka = createKafka({ KAFKA_BROKERS: brokers, KAFKA_CLIENT_ID: 'tracker-bench' });
    this.#admin = this.kafka.admin();
  }

  async create(topics: { topic: string; partitions: number }[]): Promise<void> {
    if (!this.#connected) {
      await this.#admin.connect();
      this.#connected = true;
    }
    for (const t of topics) this.#topics.add(t.topic);
    await this.#admin.createTopics({
      topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1 })),
      waitForLeaders: true,
    });
  }

  /** A consumer group a service used: deleted with the topics. */
  forgetGroup(groupId: string): void {
    this.#groups.add(groupId);
  }

  /** Offsets of a topic's partitions (sum of high watermarks = messages in it). */
  async highWatermarks(topic: string): Promise<number> {
    const offsets = await this.#admin.fetchTopicOffsets(topic);
    return offsets.reduce((s, o) => s + Number(o.high), 0);
  }

  async drop(): Promise<void> {
    if (!this.#connected) return;
    if (this.#groups.size > 0) await this.#admin.deleteGroups([...this.#groups]).catch(() => {});
    if (this.#topics.size > 0) {
      await this.#admin.deleteTopics({ topics: [...this.#topics], timeout: 30_000 }).catch((error: Error) => {
        log(`warning: could not delete scratch topics: ${error.message}`);
      });
    }
    await this.#admin.disconnect();
    this.#connected = false;
  }
}

/** Resident memory of a process from /proc/<pid>/status, in MB: current (VmRSS) and peak (VmHWM). */
export async function readMemory(pid: number): Promise<{ rssMb: number; hwmMb: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in seconds (/proc/<pid>/stat, 100 ticks/s). */
export async function readCpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

export type ServiceName = 'ingest' | 'processor' | 'query' | 'ingest-baseline' | 'ingest-bare';

const ENTRY: Record<ServiceName, string> = {
  ingest: join(ROOT, 'apps/ingest/dist/server.js'),
  processor: join(ROOT, 'apps/processor/dist/server.js'),
  query: join(ROOT, 'apps/query/dist/server.js'),
  'ingest-baseline': fileURLToPath(new URL('./baseline-ingest-server.js', import.meta.url)),
  'ingest-bare': fileURLToPath(new URL('./bare-fastify-server.js', import.meta.url)),
};

/** How long after /readyz a service's resident memory is read as its idle footprint. */
const IDLE_SETTLE_MS = 3000;

/**
 * A service run as a child process (`node apps/<name>/dist/server.js`) with an environment of our own
 * making: nothing from the caller's environment but PATH, so a developer's settings (keys, topics,
 * database) never leak into a bench. Output goes to a log file; memory is sampled while it runs.
 */
export class ServiceProcess {
  readonly child: ChildProcess;
  /** VmRSS in MB IDLE_SETTLE_MS after it became ready, before any load (set by startService). */
  idleRssMb = Number.NaN;
  readonly url: string;
  readonly logFile: string;
  #peakRssMb = 0;
  #sampler: NodeJS.Timeout;
  #exited: Promise<number | null>;
  #exitCode: number | null | undefined;

  constructor(
    readonly name: ServiceName,
    readonly port: number,
    env: Record<string, string>,
    opts: Pick<BenchOptions, 'logDir' | 'cpuProfDir' | 'serviceNodeOptions' | 'serviceEnv' | 'path'>,
    readonly tag: string,
  ) {
    mkdirSync(opts.logDir, { recursive: true });
    this.logFile = join(opts.logDir, `${tag}-${name}.log`);
    const out = createWriteStream(this.logFile);
    const args: string[] = [];
    if (opts.cpuProfDir) {
      mkdirSync(opts.cpuProfDir, { recursive: true });
      args.push(
        '--cpu-prof',
        '--cpu-prof-dir',
        opts.cpuProfDir,
        '--cpu-prof-name',
        `${tag}-${name}.cpuprofile`,
      );
    }
    this.child = spawn(process.execPath, [...args, ENTRY[name]], {
      cwd: ROOT,
      env: {
        PATH: opts.path,
        NODE_ENV: 'production',
        ...(opts.serviceNodeOptions ? { NODE_OPTIONS: opts.serviceNodeOptions } : {}),
        // Settings experiments; what the bench itself sets (topics, database) still wins.
        ...opts.serviceEnv,
        ...env,
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.pipe(out, { end: false });
    this.child.stderr?.pipe(out, { end: false });
    this.url = `http://127.0.0.1:${port}`;
    this.#exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.#exitCode = code;
        out.end();
        resolve(code);
      });
    });
    this.#sampler = setInterval(() => void this.sample(), 250);
    this.#sampler.unref();
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  /** Samples VmRSS now (also done every 250 ms); returns the current figures. */
  async sample(): Promise<{ rssMb: number; hwmMb: number } | undefined> {
    if (!this.running) return undefined;
    const m = await readMemory(this.pid);
    if (m && m.rssMb > this.#peakRssMb) this.#peakRssMb = m.rssMb;
    return m;
  }

  /** Peak resident memory so far: the kernel's VmHWM (and our own samples of VmRSS, for a check). */
  async peakMemory(): Promise<{ hwmMb: number; sampledPeakMb: number }> {
    const m = await this.sample();
    return { hwmMb: m?.hwmMb ?? Number.NaN, sampledPeakMb: this.#peakRssMb };
  }

  /** CPU seconds used so far; diff two readings over a run for the share of a core it used. */
  cpuSeconds(): Promise<number> {
    return readCpuSeconds(this.pid);
  }

  /** Waits until GET /readyz answers 200 (the service reaches its dependencies). */
  async ready(timeoutMs = 90_000): Promise<void> {
    await waitFor(
      async () => {
        if (!this.running)
          throw new Error(`${this.name} exited with code ${this.#exitCode}; see ${this.logFile}`);
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(3000) });
        await res.body?.cancel();
        return res.status === 200;
      },
      { timeoutMs, intervalMs: 250, what: `${this.name} ready at ${this.url} (log: ${this.logFile})` },
    );
  }

  /** SIGTERM and wait (SIGKILL after `graceMs`). Idempotent. */
  async stop(graceMs = 30_000): Promise<void> {
    clearInterval(this.#sampler);
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}

/**
 * A service's Prometheus metrics, summed over labels: `name` -> value (histograms give name_sum and
 * name_count). Diff two snapshots to get what happened in between.
 */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    if (Number.isFinite(value)) out.set(m[1]!, (out.get(m[1]!) ?? 0) + value);
  }
  return out;
}

/** Mean of a histogram between two snapshots (sum delta / count delta), NaN when nothing was observed. */
export function histogramMean(before: Map<string, number>, after: Map<string, number>, name: string): number {
  const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const count = d(`${name}_count`);
  return count > 0 ? d(`${name}_sum`) / count : Number.NaN;
}

/** What every service needs to reach the stack. */
export function stackEnv(opts: BenchOptions, databaseUrlOverride?: string): Record<string, string> {
  return {
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrlOverride ?? opts.stack.databaseUrl,
    KAFKA_BROKERS: opts.stack.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: opts.stack.registryUrl,
  };
}

/** The registry subject every bench registers the interaction schema under (never the production one). */
export const BENCH_SUBJECT = 'tracker-bench-interactions-value';

/** Starts a service on a free port and waits until it is ready. */
export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  opts: BenchOptions,
  tag: string,
  { measureIdle = true }: { measureIdle?: boolean } = {},
): Promise<ServiceProcess> {
  const service = new ServiceProcess(name, await freePort(), env, opts, tag);
  try {
    await service.ready();
    // Idle footprint: started, connected, nothing asked of it yet (not for a service started on a
    // backlog, which is busy at once).
    if (measureIdle) {
      await sleep(IDLE_SETTLE_MS);
      service.idleRssMb = (await service.sample())?.rssMb ?? Number.NaN;
    }
  } catch (error) {
    await service.stop(5000);
    throw error;
  }
  return service;
}
