/**
 * The soak test (`./tracker bench --soak`): the three services as child processes on scratch topics
 * and the scratch database, a steady event rate through ingest for BENCH_SOAK_DURATION_S (default
 * 600 s), a light read load on query (stats and a page of interactions every few seconds, plus one
 * live event stream held open throughout), and the resident memory (VmRSS) of each service sampled
 * every BENCH_SOAK_SAMPLE_S (10 s). The verdict per service is the least-squares slope of RSS after
 * the warm-up (soak-stats.ts): flat, or growing. Not part of the test suite: 10 minutes of a shared
 * 2-core machine is a benchmark's budget, not a test's.
 *
 * Called by bench.ts as `runSoak(ctx)` with its BenchContext; returns one row per service.
 */
import { loadavg } from 'node:os';
import { loadConfig, Type } from '@tracker/config';
import { memoryVerdict, type RssSample, type Verdict } from './soak-stats.js';

/** Soak settings from the environment (BENCH_* like the other benchmarks). */
export const SoakEnvSchema = Type.Object({
  BENCH_SOAK_DURATION_S: Type.Integer({ minimum: 30, default: 600 }),
  /** Events per second sent to ingest, in batches ten times a second. */
  BENCH_SOAK_RATE: Type.Integer({ minimum: 10, maximum: 20_000, default: 200 }),
  BENCH_SOAK_SAMPLE_S: Type.Integer({ minimum: 1, default: 10 }),
  /** Samples before this are left out of the verdict (caches, pools, JIT filling up). */
  BENCH_SOAK_WARMUP_S: Type.Integer({ minimum: 0, default: 90 }),
});
export type SoakOptions = {
  durationS: number;
  rate: number;
  sampleS: number;
  warmupS: number;
};

export function soakOptions(env: NodeJS.ProcessEnv = process.env): SoakOptions {
  const c = loadConfig(SoakEnvSchema, env);
  const durationS = c.BENCH_SOAK_DURATION_S;
  return {
    durationS,
    rate: c.BENCH_SOAK_RATE,
    sampleS: c.BENCH_SOAK_SAMPLE_S,
    // A short soak keeps at least three samples after its warm-up.
    warmupS: Math.min(c.BENCH_SOAK_WARMUP_S, Math.max(0, durationS - 3 * c.BENCH_SOAK_SAMPLE_S)),
  };
}

/** What the soak uses of bench.ts's BenchContext (bench-context.ts); structural, so either can change. */
export interface SoakContext {
  tag: string;
  opts: { stack: { databaseUrl: string; kafkaBrokers: string[]; registryUrl: string } };
  db: { url: string; pool: { query<R>(sql: string): Promise<{ rows: R[] }> } };
  topics: {
    create(topics: { topic: string; partitions: number }[]): Promise<void>;
    forgetGroup(groupId: string): void;
  };
  track<T>(service: T): T;
  stopService(service: never, during: string[]): Promise<unknown>;
}

/** The parts of bench-stack.ts the soak uses (loaded at run time, next to this file). */
interface ServiceHandle {
  name: string;
  url: string;
  pid: number;
  running: boolean;
  sample(): Promise<{ rssMb: number; hwmMb: number } | undefined>;
}
interface BenchStack {
  startService(
    name: 'ingest' | 'processor' | 'query',
    env: Record<string, string>,
    opts: unknown,
    tag: string,
  ): Promise<ServiceHandle>;
  stackEnv(opts: unknown, databaseUrl?: string): Record<string, string>;
  log(message: string): void;
}

/** One result row per service, in bench-report.ts's BenchRow shape. */
export interface SoakRow {
  name: 'soak';
  value: number;
  unit: 'MB/min';
  baseline: null;
  ratio: null;
  better: 'lower';
  parameters: Record<string, unknown>;
  goal: { field: 'value'; op: '<='; target: number };
  pass: boolean;
  loadavg: number[];
  at: string;
}

const SERVICES = ['ingest', 'processor', 'query'] as const;

export async function runSoak(ctx: SoakContext, options: SoakOptions = soakOptions()): Promise<SoakRow[]> {
  // NOTE: bench-stack.ts (the runner's service handling) is loaded at run time, so this file builds
  // on its own; the soak only ever runs from bench.ts, next to it.
  const stack = (await import(new URL('./bench-stack.js', import.meta.url).href)) as BenchStack;
  const { log } = stack;
  const topic = `${ctx.tag}.soak`;
  const topics = { topic, hits: `${topic}-hits`, dlq: `${topic}-dlq` };
  const groupId = `${ctx.tag}_soak`;
  await ctx.topics.create([
    { topic: topics.topic, partitions: 3 },
    { topic: topics.hits, partitions: 1 },
    { topic: topics.dlq, partitions: 1 },
  ]);
  ctx.topics.forgetGroup(groupId);
  const base = stack.stackEnv(ctx.opts, ctx.db.url);
  const env: Record<(typeof SERVICES)[number], Record<string, string>> = {
    ingest: {
      ...base,
      INGEST_TOPIC: topics.topic,
      INGEST_API_HITS_TOPIC: topics.hits,
      INGEST_RATE_LIMIT_MAX: '0',
      INGEST_EVENT_RATE_MAX: '0',
    },
    processor: {
      ...base,
      PROCESSOR_TOPIC: topics.topic,
      PROCESSOR_API_HITS_TOPIC: topics.hits,
      PROCESSOR_DLQ_TOPIC: topics.dlq,
      PROCESSOR_GROUP_ID: groupId,
    },
    query: { ...base, QUERY_DLQ_TOPIC: topics.dlq, QUERY_RATE_LIMIT_MAX: '0' },
  };
  const tag = `${ctx.tag}-soak`;
  const services = {} as Record<(typeof SERVICES)[number], ServiceHandle>;
  for (const name of SERVICES)
    services[name] = ctx.track(await stack.startService(name, env[name], ctx.opts, tag));

  log(
    `soak: ${options.rate} events/s for ${options.durationS} s, RSS every ${options.sampleS} s ` +
      `(verdict after a ${options.warmupS} s warm-up)`,
  );
  const samples: Record<string, RssSample[]> = { ingest: [], processor: [], query: [] };
  const counts = { sent: 0, accepted: 0, refused: 0, errors: 0, reads: 0, readErrors: 0 };
  const started = Date.now();
  const until = started + options.durationS * 1000;
  const elapsedS = () => (Date.now() - started) / 1000;

  // Steady writes: a batch every 100 ms (at most 4 in flight; a slow ingest lowers the rate, it
  // does not pile up requests).
  const perTick = Math.max(1, Math.round(options.rate / 10));
  let inFlight = 0;
  let sequence = 0;
  const writer = setInterval(() => {
    if (inFlight >= 4) return;
    inFlight += 1;
    const now = Date.now();
    const events = Array.from({ length: perTick }, () => {
      sequence += 1;
      return {
        userId: `soak-${sequence % 997}`,
        role: (['USER', 'GUEST', 'ADMIN'] as const)[sequence % 3],
        action: ['page_view', 'click', 'form_submit', 'search'][sequence % 4],
        page: `/soak/${sequence % 89}`,
        timestamp: new Date(now - (sequence % 1000)).toISOString(),
        properties: { n: sequence, plan: sequence % 2 ? 'pro' : 'free' },
      };
    });
    counts.sent += events.length;
    fetch(`${services.ingest.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (response) => {
        await response.body?.cancel();
        if (response.status === 202) counts.accepted += events.length;
        else counts.refused += events.length;
      })
      .catch(() => {
        counts.errors += events.length;
      })
      .finally(() => {
        inFlight -= 1;
      });
  }, 100);

  // A light read load, and one live stream open all along (what a dashboard tab does).
  const stream = new AbortController();
  void fetch(`${services.query.url}/api/stream`, { signal: stream.signal })
    .then(async (response) => {
      const reader = response.body?.getReader();
      while (reader && !(await reader.read()).done) {}
    })
    .catch(() => {});
  const reader = setInterval(() => {
    for (const path of ['/api/stats', '/api/interactions?limit=50', '/api/facets?limit=20']) {
      fetch(`${services.query.url}${path}`, { signal: AbortSignal.timeout(10_000) })
        .then(async (r) => {
          await r.body?.cancel();
          counts.reads += 1;
          if (!r.ok) counts.readErrors += 1;
        })
        .catch(() => {
          counts.readErrors += 1;
        });
    }
  }, 3000);

  try {
    while (Date.now() < until) {
      for (const name of SERVICES) {
        const m = await services[name].sample();
        if (!services[name].running) throw new Error(`soak: ${name} exited during the soak`);
        if (m) samples[name]!.push({ t: elapsedS(), rssMb: m.rssMb });
      }
      log(
        `soak ${elapsedS().toFixed(0)} s: RSS ${SERVICES.map((n) => `${n} ${samples[n]!.at(-1)?.rssMb.toFixed(0)} MB`).join(', ')}; ` +
          `${counts.accepted} events accepted, ${counts.refused + counts.errors} not`,
      );
      await new Promise((r) =>
        setTimeout(r, Math.min(options.sampleS * 1000, Math.max(0, until - Date.now()))),
      );
    }
  } finally {
    clearInterval(writer);
    clearInterval(reader);
    stream.abort();
  }
  // Let the processor store what was accepted (the stored count is reported, not judged here).
  const deadline = Date.now() + 60_000;
  let stored = 0;
  while (Date.now() < deadline) {
    const { rows } = await ctx.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM interactions WHERE page LIKE '/soak/%'`,
    );
    stored = rows[0]!.n;
    if (stored >= counts.accepted) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  log(
    `soak: ${counts.accepted} accepted, ${stored} stored, ${counts.reads} reads (${counts.readErrors} failed)`,
  );
  for (const name of SERVICES) await ctx.stopService(services[name] as never, ['soak']);

  return SERVICES.map((name) => {
    const verdict: Verdict = memoryVerdict(samples[name]!, { warmupS: options.warmupS });
    const window = samples[name]!.at(-1)!.t - options.warmupS;
    log(
      `soak ${name}: ${verdict.verdict} (${verdict.slopeMbPerMin.toFixed(2)} MB/min, ` +
        `${verdict.growthMb.toFixed(1)} MB over ${window.toFixed(0)} s, tolerance ${verdict.toleranceMb.toFixed(0)} MB)`,
    );
    return {
      name: 'soak',
      value: Number(verdict.slopeMbPerMin.toFixed(3)),
      unit: 'MB/min',
      baseline: null,
      ratio: null,
      better: 'lower',
      parameters: {
        service: name,
        verdict: verdict.verdict,
        durationS: options.durationS,
        ratePerS: options.rate,
        sampleS: options.sampleS,
        warmupS: options.warmupS,
        growthMb: Number(verdict.growthMb.toFixed(1)),
        toleranceMb: Number(verdict.toleranceMb.toFixed(1)),
        r2: Number(verdict.r2.toFixed(3)),
        firstMb: Number(verdict.firstMb.toFixed(1)),
        lastMb: Number(verdict.lastMb.toFixed(1)),
        peakMb: Number(verdict.peakMb.toFixed(1)),
        samples: samples[name]!.map((s) => [Math.round(s.t), Number(s.rssMb.toFixed(1))]),
        eventsAccepted: counts.accepted,
        eventsNotAccepted: counts.refused + counts.errors,
        eventsStored: stored,
        reads: counts.reads,
        readErrors: counts.readErrors,
        measured:
          'VmRSS of the service process (/proc/<pid>/status); value = least-squares slope after the warm-up',
      },
      // Flat means the fitted growth over the window stays within the tolerance.
      goal: {
        field: 'value',
        op: '<=',
        target: Number(((verdict.toleranceMb / Math.max(window, 1)) * 60).toFixed(3)),
      },
      pass: verdict.verdict === 'flat',
      loadavg: loadavg(),
      at: new Date().toISOString(),
    } satisfies SoakRow;
  });
}
