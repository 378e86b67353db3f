/**
 * `./tracker bench` (pnpm run bench): every benchmark against scratch resources, one JSON object per
 * result on stdout, progress on stderr; a full run also writes results/latest.json and latest.png.
 * Exit code 1 when a benchmark failed to run (a missed goal is a result, not a failure).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '@tracker/config';
import { renderChart } from './bench-chart.js';
import {
  type BenchmarkName,
  type BenchOptions,
  loadBenchOptions,
  USAGE,
  UsageError,
} from './bench-config.js';
import { BenchContext } from './bench-context.js';
import { runE2eBenchmark } from './bench-e2e.js';
import { runIngestBenchmarks } from './bench-ingest.js';
import { runPipelineBenchmark, runPipelineScaleBenchmark } from './bench-pipeline.js';
import { type BenchRow, makeRow } from './bench-report.js';
import { REPORT_GOALS, runReportsBenchmark } from './bench-reports.js';
import { currentLoad, log } from './bench-stack.js';
import { runStatsBenchmark } from './bench-stats-query.js';

/** Footprint goals per service process: peak under the bench's load, and idle. */
const MEMORY_PEAK_GOAL_MB = 200;
const MEMORY_IDLE_GOAL_MB = 120;

/** What results/latest.json holds. */
export interface ResultsFile {
  generatedAt: string;
  quick: boolean;
  cpus: number;
  loadavgAtStart: number[];
  loadavgAtEnd: number[];
  rows: BenchRow[];
}

let options: BenchOptions | 'help' | 'chart';
try {
  options = loadBenchOptions(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError || error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  throw error;
}
if (options === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (options === 'chart') {
  const dir = loadBenchOptions([]);
  if (typeof dir === 'string') process.exit(2);
  const file = JSON.parse(await readFile(join(dir.resultsDir, 'latest.json'), 'utf8')) as ResultsFile;
  await writeFile(join(dir.resultsDir, 'latest.png'), await renderChart(file.rows, chartSubtitle(file)));
  log(`drew ${join(dir.resultsDir, 'latest.png')} from latest.json`);
  process.exit(0);
}
const opts = options;
const tag = `bench_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
const ctx = new BenchContext(opts, tag);
const loadAtStart = loadavg();
const started = Date.now();

let cleaning: Promise<void> | undefined;
const cleanup = () => {
  cleaning ??= ctx.cleanup();
  return cleaning;
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping services and dropping scratch resources`);
    void cleanup().finally(() => process.exit(130));
  });
}

const wants = (name: BenchmarkName) => opts.only.includes(name);
let failures = 0;
const attempt = async (what: string, fn: () => Promise<void>) => {
  const t0 = Date.now();
  try {
    await fn();
    log(`${what} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } catch (error) {
    failures += 1;
    log(`ERROR in ${what}: ${(error as Error).stack ?? error}`);
  }
};

log(
  `run ${tag}: ${opts.only.join(', ')}${opts.quick ? ' (quick)' : ''}${opts.soak ? ' + soak' : ''}; ` +
    `load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs; logs in ${opts.logDir}`,
);
try {
  if (opts.only.some((b) => b === 'pipeline' || b === 'e2e_latency' || b === 'pipeline_scale') || opts.soak)
    await ctx.db.create();
  if (wants('ingest_single') || wants('ingest_batch')) {
    await attempt('ingest benchmarks', () =>
      runIngestBenchmarks(ctx, { single: wants('ingest_single'), batch: wants('ingest_batch') }),
    );
  }
  if (wants('pipeline')) await attempt('pipeline', () => runPipelineBenchmark(ctx));
  emitMemory(['ingest_single', 'ingest_batch', 'pipeline']);
  if (wants('e2e_latency')) await attempt('e2e_latency', () => runE2eBenchmark(ctx));
  if (wants('stats_query')) await attempt('stats_query', () => runStatsBenchmark(ctx));
  if (wants('reports')) await attempt('reports', () => runReportsBenchmark(ctx));
  emitMemory(['e2e_latency', 'stats_query', 'reports']);
  if (wants('pipeline_scale')) await attempt('pipeline_scale', () => runPipelineScaleBenchmark(ctx));
  if (opts.soak) await attempt('soak', () => runSoak(ctx));
} finally {
  await cleanup();
}

if (opts.save && ctx.rows.length > 0) await save(ctx.rows);
log(
  `finished in ${((Date.now() - started) / 1000).toFixed(0)} s; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
process.exit(failures > 0 ? 1 : 0);

/** `memory` and `memory_idle` rows for the services stopped during `phase` (ingest's row has the no-Kafka server as baseline). */
function emitMemory(phase: string[]): void {
  const records = ctx.memory.filter((m) => m.during.some((d) => phase.includes(d)));
  const baseline = records.find((m) => m.service === 'ingest-baseline');
  for (const m of records) {
    if (m.service === 'ingest-baseline' || m.service === 'ingest-bare') continue;
    if (Number.isFinite(m.idleMb))
      ctx.emit(
        makeRow({
          name: 'memory_idle',
          value: m.idleMb,
          unit: 'MB',
          better: 'lower',
          goal: { field: 'value', op: '<=', target: MEMORY_IDLE_GOAL_MB },
          parameters: {
            service: m.service,
            during: m.during,
            measured: 'VmRSS of the child process 3 s after /readyz answered, before any load',
          },
          loadavg: currentLoad(),
        }),
      );
    ctx.emit(
      makeRow({
        name: 'memory',
        value: m.hwmMb,
        unit: 'MB',
        better: 'lower',
        goal: { field: 'value', op: '<=', target: MEMORY_PEAK_GOAL_MB },
        baseline: m.service === 'ingest' && baseline ? baseline.hwmMb : null,
        parameters: {
          service: m.service,
          during: m.during,
          sampledPeakMb: Math.round(m.sampledPeakMb),
          nodeOptions: opts.serviceNodeOptions ?? '',
          measured: 'VmHWM of the child process (/proc/<pid>/status) when it was stopped',
          ...(m.service === 'ingest' && baseline
            ? { baselineWhat: 'the ingest_single baseline server (no Kafka)' }
            : {}),
        },
        loadavg: currentLoad(),
      }),
    );
  }
}

/**
 * The soak test lives in bench/src/soak.ts (another engineer's): when built, its `runSoak(ctx)` (or
 * default export) is called with the BenchContext; rows it returns are printed like the others.
 */
async function runSoak(context: BenchContext): Promise<void> {
  const file = fileURLToPath(new URL('./soak.js', import.meta.url));
  if (!existsSync(file)) {
    log('soak: bench/src/soak.ts is not there (yet): skipped');
    return;
  }
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const fn = (mod.runSoak ?? mod.default) as ((c: BenchContext) => Promise<unknown>) | undefined;
  if (typeof fn !== 'function') throw new Error('bench/src/soak.ts exports no runSoak(ctx) function');
  const out = await fn(context);
  const rows = Array.isArray(out) ? out : out ? [out] : [];
  for (const row of rows as BenchRow[]) context.emit(row);
}

/** Writes latest.json (rows of benchmarks not run this time are kept from the previous file) and latest.png. */
async function save(rows: BenchRow[]): Promise<void> {
  await mkdir(opts.resultsDir, { recursive: true });
  const jsonPath = join(opts.resultsDir, 'latest.json');
  // The reports benchmark's rows are named after the endpoint they time.
  const ran = new Set<string>(
    opts.only.flatMap((b) => (b === 'reports' ? [b, ...Object.keys(REPORT_GOALS)] : [b])),
  );
  let kept: BenchRow[] = [];
  if (existsSync(jsonPath)) {
    try {
      const previous = JSON.parse(await readFile(jsonPath, 'utf8')) as ResultsFile;
      kept = previous.rows.filter((r) =>
        r.name === 'memory' || r.name === 'memory_idle'
          ? !(r.parameters.during as string[]).some((d) => ran.has(d))
          : !ran.has(r.name) && !rows.some((n) => n.name === r.name),
      );
    } catch {
      kept = [];
    }
  }
  const order = [
    'ingest_single',
    'ingest_batch',
    'pipeline',
    'pipeline_scale',
    'e2e_latency',
    'stats_query',
    ...Object.keys(REPORT_GOALS),
    'memory',
    'memory_idle',
  ];
  const all = [...kept, ...rows].sort(
    (a, b) => (order.indexOf(a.name) + 1 || 99) - (order.indexOf(b.name) + 1 || 99),
  );
  const file: ResultsFile = {
    generatedAt: new Date().toISOString(),
    quick: opts.quick,
    cpus: cpus().length,
    loadavgAtStart: loadAtStart,
    loadavgAtEnd: loadavg(),
    rows: all,
  };
  await writeFile(jsonPath, `${JSON.stringify(file, null, 2)}\n`);
  await writeFile(join(opts.resultsDir, 'latest.png'), await renderChart(all, chartSubtitle(file)));
  log(`results written to ${jsonPath} and latest.png`);
}

/** The chart's second line: when, and how loaded the shared machine was while measuring. */
function chartSubtitle(file: ResultsFile): string {
  const loads = file.rows.map((r) => r.loadavg[0] ?? 0);
  return (
    `${file.generatedAt.slice(0, 16).replace('T', ' ')} UTC · ${file.cpus} CPUs shared with other work · ` +
    `1-min load average while measuring: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}` +
    (file.quick ? ' · QUICK RUN (smoke sizes)' : '')
  );
}
