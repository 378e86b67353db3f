import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CommonEnv, loadConfig, type Static, Type } from '@tracker/config';

/** The benchmarks `./tracker bench` runs, in this order (memory is measured during the first three). */
export const BENCHMARKS = [
  'ingest_single',
  'ingest_batch',
  'pipeline',
  'e2e_latency',
  'stats_query',
  'reports',
  'pipeline_scale',
] as const;
export type BenchmarkName = (typeof BENCHMARKS)[number];

const Opt = (description: string, minimum = 1) => Type.Optional(Type.Integer({ minimum, description }));

/**
 * Every environment variable the benchmarks read. Sizes left unset take the full-run default, or the
 * quick one with BENCH_QUICK=1 (see SIZES); README "Benchmarks" lists them all.
 */
export const BenchEnvSchema = Type.Object({
  DATABASE_URL: CommonEnv.DATABASE_URL,
  KAFKA_BROKERS: CommonEnv.KAFKA_BROKERS,
  SCHEMA_REGISTRY_URL: CommonEnv.SCHEMA_REGISTRY_URL,
  /** Passed on to the service processes (their environment is otherwise built from scratch). */
  PATH: Type.String({ default: '/usr/local/bin:/usr/bin:/bin' }),
  BENCH_QUICK: Type.Boolean({ default: false }),
  BENCH_SOAK: Type.Boolean({ default: false }),
  BENCH_ONLY: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  BENCH_SAVE: Type.Optional(Type.Boolean()),
  BENCH_RESULTS_DIR: Type.String({
    default: fileURLToPath(new URL('../results', import.meta.url)),
  }),
  BENCH_LOG_DIR: Type.String({ default: fileURLToPath(new URL('../../.local/logs/bench', import.meta.url)) }),
  /** The services' shipped node flags (./tracker bench passes its DEFAULT_SERVICE_NODE_OPTIONS). */
  TRACKER_NODE_OPTIONS: Type.String({ default: '' }),
  /** Node flags added after those for every service process (tuning experiments, e.g. --max-semi-space-size=32). */
  BENCH_SERVICE_NODE_OPTIONS: Type.Optional(Type.String({ minLength: 1 })),
  /** Extra environment for every service process, `KEY=VALUE,KEY=VALUE` (settings experiments). */
  BENCH_SERVICE_ENV: Type.Array(Type.String({ pattern: '^[A-Z][A-Z0-9_]*=.*$' }), { default: [] }),
  /** When set, every service runs with `node --cpu-prof` and writes its profile here. */
  BENCH_CPU_PROF_DIR: Type.Optional(Type.String({ minLength: 1 })),
  BENCH_WARMUP_S: Opt('seconds of load before each measured HTTP run', 0),
  BENCH_SINGLE_DURATION_S: Opt('ingest_single: seconds per measured run'),
  BENCH_SINGLE_CONNECTIONS: Opt('ingest_single: concurrent connections'),
  BENCH_BATCH_DURATION_S: Opt('ingest_batch: seconds per measured run'),
  BENCH_BATCH_SIZE: Opt('ingest_batch: events per request'),
  BENCH_BATCH_CONNECTIONS: Opt('ingest_batch: concurrent requests (and baseline sends)'),
  BENCH_PIPELINE_EVENTS: Opt('pipeline: events pre-filled in the topic'),
  BENCH_E2E_RATE: Opt('e2e_latency: events/s sent'),
  BENCH_E2E_DURATION_S: Opt('e2e_latency: seconds of steady load'),
  BENCH_E2E_PROBE_RATE: Opt('e2e_latency: probe events/s (their visibility is timed)'),
  BENCH_STATS_ROWS: Opt('stats_query: stored interactions'),
  BENCH_STATS_REQUESTS: Opt('stats_query: most /api/stats requests per filter'),
  BENCH_STATS_BUDGET_S: Opt(
    'stats_query: seconds of requests per filter (fewer requests when slow, at least 5)',
  ),
  BENCH_STATS_BASELINE_REPS: Opt('stats_query: naive computations per filter (0: none, no baseline)', 0),
  BENCH_REPORTS_ROWS: Opt('reports: stored interactions (visits of ~8 events)'),
  BENCH_REPORTS_USERS: Opt('reports: distinct users the visits are spread over'),
  BENCH_REPORTS_REQUESTS: Opt('reports: most requests per endpoint variant'),
  BENCH_REPORTS_BUDGET_S: Opt(
    'reports: seconds of requests per endpoint variant (fewer requests when slow, at least 5)',
  ),
  /** Keep the stats and reports databases (named after their size) and reuse them instead of loading them again. */
  BENCH_KEEP_STATS_DB: Type.Boolean({ default: false }),
});
export type BenchEnv = Static<typeof BenchEnvSchema>;

/** Full-run and quick (smoke) sizes. */
export const SIZES = {
  full: {
    warmupS: 3,
    singleDurationS: 20,
    singleConnections: 64,
    batchDurationS: 20,
    batchSize: 500,
    batchConnections: 8,
    pipelineEvents: 200_000,
    e2eRate: 1000,
    e2eDurationS: 60,
    e2eProbeRate: 20,
    statsRows: 5_000_000,
    statsRequests: 100,
    statsBudgetS: 15,
    statsBaselineReps: 1,
    reportsRows: 5_000_000,
    reportsUsers: 200_000,
    reportsRequests: 50,
    reportsBudgetS: 20,
  },
  quick: {
    warmupS: 1,
    singleDurationS: 3,
    singleConnections: 64,
    batchDurationS: 3,
    batchSize: 500,
    batchConnections: 4,
    pipelineEvents: 5000,
    e2eRate: 200,
    e2eDurationS: 5,
    e2eProbeRate: 10,
    statsRows: 50_000,
    statsRequests: 5,
    statsBudgetS: 3,
    statsBaselineReps: 1,
    reportsRows: 50_000,
    reportsUsers: 2000,
    reportsRequests: 5,
    reportsBudgetS: 3,
  },
} as const;
export type Sizes = { -readonly [K in keyof (typeof SIZES)['full']]: number };

export interface BenchOptions {
  stack: { databaseUrl: string; kafkaBrokers: string[]; registryUrl: string };
  quick: boolean;
  soak: boolean;
  only: BenchmarkName[];
  /** Write results/latest.json and latest.png (default: full runs of every benchmark only). */
  save: boolean;
  resultsDir: string;
  logDir: string;
  cpuProfDir: string | undefined;
  serviceNodeOptions: string | undefined;
  /** BENCH_SERVICE_ENV as an object. */
  serviceEnv: Record<string, string>;
  /** PATH for the service processes. */
  path: string;
  keepStatsDb: boolean;
  sizes: Sizes;
}

export const USAGE = `Usage: ./tracker bench [--quick] [--soak] [--only a,b] [--save | --no-save]
   (or: pnpm run bench -- [options])

Runs the benchmarks against a scratch database and scratch topics (created and dropped) with the
services started from their built dist/server.js, prints one JSON object per result on stdout and
(for a full run) writes bench/results/latest.json and latest.png.

  --quick        short smoke run (seconds per benchmark, small data); env BENCH_QUICK=1
  --soak         also run the 10-minute soak test (bench/src/soak.ts); env BENCH_SOAK=1
  --only LIST    comma-separated subset of: ${BENCHMARKS.join(', ')}; env BENCH_ONLY
  --save         write results/latest.json and latest.png even for a quick or partial run
  --no-save      do not write them
  --chart        only draw results/latest.png again from results/latest.json
  -h, --help     this text
Sizes and durations: BENCH_* variables (bench/README.md, "Benchmarks").`;

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Options from flags (which win) and the environment. Throws UsageError or ConfigError. */
export function loadBenchOptions(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): BenchOptions | 'help' | 'chart' {
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (flags.help) return 'help';
  if (flags.chart) return 'chart';
  const e = loadConfig(BenchEnvSchema, env);
  const quick = flags.quick || e.BENCH_QUICK;
  const names =
    flags.only === undefined
      ? e.BENCH_ONLY
      : flags.only
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  const unknown = names.filter((n) => !(BENCHMARKS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new UsageError(
      `--only / BENCH_ONLY: unknown benchmark ${unknown.join(', ')} (known: ${BENCHMARKS.join(', ')})`,
    );
  }
  const only = names as BenchmarkName[];
  const base = quick ? SIZES.quick : SIZES.full;
  const sizes: Sizes = {
    warmupS: e.BENCH_WARMUP_S ?? base.warmupS,
    singleDurationS: e.BENCH_SINGLE_DURATION_S ?? base.singleDurationS,
    singleConnections: e.BENCH_SINGLE_CONNECTIONS ?? base.singleConnections,
    batchDurationS: e.BENCH_BATCH_DURATION_S ?? base.batchDurationS,
    batchSize: e.BENCH_BATCH_SIZE ?? base.batchSize,
    batchConnections: e.BENCH_BATCH_CONNECTIONS ?? base.batchConnections,
    pipelineEvents: e.BENCH_PIPELINE_EVENTS ?? base.pipelineEvents,
    e2eRate: e.BENCH_E2E_RATE ?? base.e2eRate,
    e2eDurationS: e.BENCH_E2E_DURATION_S ?? base.e2eDurationS,
    e2eProbeRate: e.BENCH_E2E_PROBE_RATE ?? base.e2eProbeRate,
    statsRows: e.BENCH_STATS_ROWS ?? base.statsRows,
    statsRequests: e.BENCH_STATS_REQUESTS ?? base.statsRequests,
    statsBudgetS: e.BENCH_STATS_BUDGET_S ?? base.statsBudgetS,
    statsBaselineReps: e.BENCH_STATS_BASELINE_REPS ?? base.statsBaselineReps,
    reportsRows: e.BENCH_REPORTS_ROWS ?? base.reportsRows,
    reportsUsers: e.BENCH_REPORTS_USERS ?? base.reportsUsers,
    reportsRequests: e.BENCH_REPORTS_REQUESTS ?? base.reportsRequests,
    reportsBudgetS: e.BENCH_REPORTS_BUDGET_S ?? base.reportsBudgetS,
  };
  const complete = only.length === 0;
  return {
    stack: {
      databaseUrl: e.DATABASE_URL,
      kafkaBrokers: e.KAFKA_BROKERS,
      registryUrl: e.SCHEMA_REGISTRY_URL,
    },
    quick,
    soak: flags.soak || e.BENCH_SOAK,
    only: complete ? [...BENCHMARKS] : only,
    save: flags.save ?? e.BENCH_SAVE ?? (!quick && complete),
    resultsDir: e.BENCH_RESULTS_DIR,
    logDir: e.BENCH_LOG_DIR,
    cpuProfDir: e.BENCH_CPU_PROF_DIR,
    serviceNodeOptions:
      [e.TRACKER_NODE_OPTIONS, e.BENCH_SERVICE_NODE_OPTIONS].filter((o) => o?.trim()).join(' ') || undefined,
    serviceEnv: Object.fromEntries(
      e.BENCH_SERVICE_ENV.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    ),
    path: e.PATH,
    keepStatsDb: e.BENCH_KEEP_STATS_DB,
    sizes,
  };
}

function parseFlags(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    allowNegative: true,
    options: {
      quick: { type: 'boolean', default: false },
      soak: { type: 'boolean', default: false },
      only: { type: 'string' },
      save: { type: 'boolean' },
      chart: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  return {
    quick: values.quick ?? false,
    soak: values.soak ?? false,
    only: values.only,
    save: values.save,
    chart: values.chart ?? false,
    help: values.help ?? false,
  };
}
