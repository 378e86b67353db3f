/**
 * 1. ingest_single: single-event POST /v1/events, as fast as 64 connections go. Baseline: the same
 *    server without Kafka (baseline-ingest-server.ts).
 * 2. ingest_batch: POST /v1/batch with 500 events. Baseline: a plain kafkajs producer sending the same
 *    Avro payloads (encoded beforehand) with the same concurrency.
 * One ingest process serves both, so its peak memory covers both.
 */

import type { BenchContext } from './bench-context.js';
import { type LoadRequest, type LoadResult, loadProblems, runLoad } from './bench-load.js';
import { makeRow, perSecond, summarize } from './bench-report.js';
import {
  BENCH_SUBJECT,
  currentLoad,
  histogramMean,
  log,
  type ServiceProcess,
  scrapeMetrics,
  settle,
  stackEnv,
  startService,
} from './bench-stack.js';
import { batches, sampleEvents, toMessages, toRecords } from './bench-traffic.js';

export function ingestEnv(ctx: BenchContext, topic: string, hitsTopic: string): Record<string, string> {
  return {
    ...stackEnv(ctx.opts),
    INGEST_TOPIC: topic,
    INGEST_API_HITS_TOPIC: hitsTopic,
    INGEST_SUBJECT: BENCH_SUBJECT,
    // The bench is one client sending as fast as it can: the per-key limit would only measure 429s.
    INGEST_RATE_LIMIT_MAX: '0',
    INGEST_EVENT_RATE_MAX: '0',
  };
}

const eventsPerSecond = (r: LoadResult, perRequest = 1) => perSecond(r.ok * perRequest, r.ms);

function warnProblems(what: string, r: LoadResult): string | undefined {
  const problems = loadProblems(r);
  if (problems) log(`warning: ${what}: ${problems}`);
  return problems;
}

export async function runIngestBenchmarks(
  ctx: BenchContext,
  which: { single: boolean; batch: boolean },
): Promise<void> {
  const topic = `${ctx.tag}.ingest`;
  const hitsTopic = `${ctx.tag}.ingest-hits`;
  await ctx.topics.create([
    { topic, partitions: 12 },
    { topic: hitsTopic, partitions: 1 },
  ]);
  const env = ingestEnv(ctx, topic, hitsTopic);
  const ingest = ctx.track(await startService('ingest', env, ctx.opts, ctx.tag));
  const during: string[] = [];
  try {
    if (which.single) {
      during.push('ingest_single');
      await ingestSingle(ctx, env, ingest);
    }
    if (which.batch) {
      during.push('ingest_batch');
      await ingestBatch(ctx, ingest, topic);
    }
  } finally {
    await ctx.stopService(ingest, during);
  }
}

async function ingestSingle(
  ctx: BenchContext,
  env: Record<string, string>,
  ingest: ServiceProcess,
): Promise<void> {
  const ingestUrl = ingest.url;
  const { sizes } = ctx.opts;
  const requests: LoadRequest[] = sampleEvents(256).map((e) => ({
    method: 'POST',
    path: '/v1/events',
    body: JSON.stringify(e),
  }));
  const load = (url: string, durationS: number) =>
    runLoad({ url, connections: sizes.singleConnections, durationS, requests });

  const baselineServer = ctx.track(await startService('ingest-baseline', env, ctx.opts, ctx.tag));
  let base: LoadResult;
  let baseCpu = Number.NaN;
  try {
    log(
      `ingest_single baseline (no Kafka): ${sizes.singleConnections} connections, ${sizes.singleDurationS} s`,
    );
    if (sizes.warmupS > 0) await load(baselineServer.url, sizes.warmupS);
    const cpu0 = await baselineServer.cpuSeconds();
    base = await load(baselineServer.url, sizes.singleDurationS);
    baseCpu = cpuShare(cpu0, await baselineServer.cpuSeconds(), base.ms);
    warnProblems('ingest_single baseline', base);
  } finally {
    await ctx.stopService(baselineServer, ['ingest_single']);
  }

  // The limit: what a bare Fastify route serves for the same requests and connections.
  const bareServer = ctx.track(await startService('ingest-bare', {}, ctx.opts, ctx.tag));
  let bare: LoadResult;
  try {
    log(
      `ingest_single limit (bare Fastify route): ${sizes.singleConnections} connections, ${sizes.singleDurationS} s`,
    );
    await settle('ingest_single limit');
    if (sizes.warmupS > 0) await load(bareServer.url, sizes.warmupS);
    bare = await load(bareServer.url, sizes.singleDurationS);
    warnProblems('ingest_single limit', bare);
  } finally {
    await ctx.stopService(bareServer, ['ingest_single']);
  }

  log(`ingest_single: ${sizes.singleConnections} connections, ${sizes.singleDurationS} s`);
  await settle('ingest_single');
  if (sizes.warmupS > 0) await load(ingestUrl, sizes.warmupS);
  const before = await scrapeMetrics(ingestUrl);
  const cpu0 = await ingest.cpuSeconds();
  const ours = await load(ingestUrl, sizes.singleDurationS);
  const cpu = cpuShare(cpu0, await ingest.cpuSeconds(), ours.ms);
  const producer = producerStats(before, await scrapeMetrics(ingestUrl));
  const problems = warnProblems('ingest_single', ours);
  const lat = summarize(ours.latencies);
  const baseLat = summarize(base.latencies);
  ctx.emit(
    makeRow({
      name: 'ingest_single',
      value: eventsPerSecond(ours),
      unit: 'events/s',
      baseline: eventsPerSecond(base),
      limit: {
        value: eventsPerSecond(bare),
        what: 'a bare Fastify route for the same POST /v1/events: JSON parsing only, answers 202 {id}',
      },
      latency: lat,
      goal: { field: 'limitRatio', op: '>=', target: 0.5 },
      parameters: {
        connections: sizes.singleConnections,
        durationS: sizes.singleDurationS,
        requests: ours.ok,
        baselineP50: baseLat.p50,
        baselineP99: baseLat.p99,
        baselineWhat:
          'same Fastify app, routes, validation and normalisation; answers 202 without Avro/Kafka',
        ingestCpuShare: cpu,
        baselineCpuShare: baseCpu,
        ...producer,
        ...(problems ? { problems } : {}),
      },
      loadavg: currentLoad(),
    }),
  );
}

async function ingestBatch(ctx: BenchContext, ingest: ServiceProcess, topic: string): Promise<void> {
  const ingestUrl = ingest.url;
  const { sizes } = ctx.opts;
  const size = sizes.batchSize;
  const eventBatches = batches(sampleEvents(size * 16, 11), size).filter((b) => b.length === size);
  const requests: LoadRequest[] = eventBatches.map((events) => ({
    method: 'POST',
    path: '/v1/batch',
    body: JSON.stringify({ events }),
  }));
  const load = (durationS: number) =>
    runLoad({ url: ingestUrl, connections: sizes.batchConnections, durationS, requests });

  log(
    `ingest_batch: ${size} events per request, ${sizes.batchConnections} connections, ${sizes.batchDurationS} s`,
  );
  await settle('ingest_batch');
  if (sizes.warmupS > 0) await load(sizes.warmupS);
  const before = await scrapeMetrics(ingestUrl);
  const cpu0 = await ingest.cpuSeconds();
  const ours = await load(sizes.batchDurationS);
  const cpu = cpuShare(cpu0, await ingest.cpuSeconds(), ours.ms);
  const producer = producerStats(before, await scrapeMetrics(ingestUrl));
  const problems = warnProblems('ingest_batch', ours);
  const lat = summarize(ours.latencies);

  log(`ingest_batch baseline (plain kafkajs producer, same Avro payloads): ${sizes.batchDurationS} s`);
  await ctx.serde.register();
  const payloads = eventBatches.map((b) => toMessages(ctx.serde, toRecords(b)));
  await settle('ingest_batch baseline');
  const base = await produceRaw(
    ctx,
    topic,
    payloads,
    sizes.batchConnections,
    sizes.batchDurationS,
    sizes.warmupS,
  );

  ctx.emit(
    makeRow({
      name: 'ingest_batch',
      value: eventsPerSecond(ours, size),
      unit: 'events/s',
      baseline: base.eventsPerSecond,
      latency: lat,
      goal: { field: 'ratio', op: '>=', target: 0.7 },
      parameters: {
        batchSize: size,
        connections: sizes.batchConnections,
        durationS: sizes.batchDurationS,
        requests: ours.ok,
        baselineSends: base.sends,
        baselineP50: base.latency.p50,
        baselineP99: base.latency.p99,
        baselineWhat:
          'kafkajs producer (defaults, acks=all) sending the same Avro-encoded batches, same concurrency',
        ingestCpuShare: cpu,
        baselineCpuShare: base.cpu,
        ...producer,
        ...(problems ? { problems } : {}),
      },
      loadavg: currentLoad(),
    }),
  );
}

/** Share of one core a process used over a run (1 = a full core). */
function cpuShare(before: number, after: number, ms: number): number {
  return ms > 0 ? (after - before) / (ms / 1000) : Number.NaN;
}

/** What ingest's producer did during a run: mean messages per Kafka request and time to acknowledgement. */
function producerStats(before: Map<string, number>, after: Map<string, number>) {
  return {
    producerMeanBatch: histogramMean(before, after, 'ingest_producer_batch_messages'),
    producerMeanAckMs: histogramMean(before, after, 'ingest_produce_duration_seconds') * 1000,
  };
}

/**
 * The broker-side baseline: `concurrency` loops each sending one pre-encoded batch at a time with a
 * plain kafkajs producer (acks=all), for `durationS`. Not HTTP: nothing here for autocannon to drive.
 */
async function produceRaw(
  ctx: BenchContext,
  topic: string,
  payloads: { key: string; value: Buffer }[][],
  concurrency: number,
  durationS: number,
  warmupS: number,
): Promise<{ eventsPerSecond: number; sends: number; latency: ReturnType<typeof summarize>; cpu: number }> {
  const producer = ctx.topics.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const run = async (seconds: number) => {
      const latencies: number[] = [];
      let events = 0;
      const started = performance.now();
      const cpu0 = process.cpuUsage();
      const deadline = started + seconds * 1000;
      await Promise.all(
        Array.from({ length: concurrency }, async (_, worker) => {
          for (let i = worker; performance.now() < deadline; i += concurrency) {
            const messages = payloads[i % payloads.length]!;
            const t0 = performance.now();
            await producer.send({ topic, acks: -1, messages });
            latencies.push(performance.now() - t0);
            events += messages.length;
          }
        }),
      );
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu0);
      return { events, ms, latencies, cpu: (used.user + used.system) / 1000 / ms };
    };
    if (warmupS > 0) await run(warmupS);
    const r = await run(durationS);
    return {
      eventsPerSecond: perSecond(r.events, r.ms),
      sends: r.latencies.length,
      latency: summarize(r.latencies),
      cpu: r.cpu,
    };
  } finally {
    await producer.disconnect();
  }
}
