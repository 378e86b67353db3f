import { createRegistry, InteractionSerde } from '@tracker/kafka';
import type { BenchOptions } from './bench-config.js';
import type { BenchRow } from './bench-report.js';
import { BENCH_SUBJECT, log, ScratchDatabase, ScratchTopics, type ServiceProcess } from './bench-stack.js';

/** Peak memory of one service process during some benchmarks (reported as `memory` rows). */
export interface MemoryRecord {
  service: string;
  during: string[];
  hwmMb: number;
  sampledPeakMb: number;
  /** VmRSS once started and ready, before any load. */
  idleMb: number;
}

/** What every benchmark gets: options, scratch resources, and where results go. */
export class BenchContext {
  readonly rows: BenchRow[] = [];
  readonly memory: MemoryRecord[] = [];
  readonly db: ScratchDatabase;
  readonly topics: ScratchTopics;
  readonly serde: InteractionSerde;
  readonly #services = new Set<ServiceProcess>();

  constructor(
    readonly opts: BenchOptions,
    /** Unique per run: names the scratch database, topics, consumer groups and log files. */
    readonly tag: string,
  ) {
    this.db = new ScratchDatabase(opts.stack.databaseUrl, tag);
    this.topics = new ScratchTopics(opts.stack.kafkaBrokers);
    this.serde = new InteractionSerde(
      createRegistry({ SCHEMA_REGISTRY_URL: opts.stack.registryUrl }),
      BENCH_SUBJECT,
    );
  }

  /** Prints a result line on stdout at once (a long run shows its figures as they come). */
  emit(row: BenchRow): void {
    this.rows.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
  }

  /** Remembers a started service so `cleanup()` stops it whatever happens. */
  track<T extends ServiceProcess>(service: T): T {
    this.#services.add(service);
    return service;
  }

  /** Stops a service and records its peak memory. */
  async stopService(service: ServiceProcess, during: string[]): Promise<MemoryRecord> {
    const peak = await service.peakMemory();
    await service.stop();
    this.#services.delete(service);
    const record = { service: service.name, during, ...peak, idleMb: service.idleRssMb };
    this.memory.push(record);
    log(
      `${service.name}: peak RSS ${peak.hwmMb.toFixed(0)} MB (VmHWM), sampled max ${peak.sampledPeakMb.toFixed(0)} MB`,
    );
    return record;
  }

  /** Stops every service still running, drops the scratch topics and database. */
  async cleanup(): Promise<void> {
    await Promise.all([...this.#services].map((s) => s.stop(10_000).catch(() => {})));
    this.#services.clear();
    await this.topics.drop().catch((error: Error) => log(`warning: topic cleanup: ${error.message}`));
    await this.db.drop().catch((error: Error) => log(`warning: database cleanup: ${error.message}`));
  }
}
