/**
 * 4. e2e_latency: the whole stack (ingest -> Kafka -> processor -> PostgreSQL -> query) under a steady
 *    load of BENCH_E2E_RATE events/s (single-event POSTs by autocannon at a fixed overall rate).
 *    Among them, probe events (BENCH_E2E_PROBE_RATE per second, one probe user, known eventIds) are
 *    timed from just before their POST is sent until the first GET /api/interactions?userId=<probe>
 *    that lists them (polled every POLL_MS). So a figure is an upper bound of "POST to visible": it
 *    includes up to one poll interval and the poll's own duration, and nothing is inferred from
 *    stored_at (a transaction start, earlier than the moment the row becomes visible).
 */
import { randomUUID } from 'node:crypto';
import type { BenchContext } from './bench-context.js';
import { ingestEnv } from './bench-ingest.js';
import { type LoadRequest, loadProblems, runLoad } from './bench-load.js';
import { makeRow, perSecond, summarize } from './bench-report.js';
import { currentLoad, log, type ServiceProcess, sleep, stackEnv, startService } from './bench-stack.js';
import { sampleEvents } from './bench-traffic.js';

const POLL_MS = 20;
const PARTITIONS = 12;

interface Probe {
  sentAt: number;
  sentWall: number;
  acked?: number;
  seenAt?: number;
}

export async function runE2eBenchmark(ctx: BenchContext): Promise<void> {
  const topic = `${ctx.tag}.e2e`;
  const hits = `${ctx.tag}.e2e-hits`;
  const dlq = `${ctx.tag}.e2e-dlq`;
  const groupId = `${ctx.tag}_e2e`;
  await ctx.topics.create([
    { topic, partitions: PARTITIONS },
    { topic: hits, partitions: 1 },
    { topic: dlq, partitions: 1 },
  ]);
  ctx.topics.forgetGroup(groupId);

  const db = stackEnv(ctx.opts, ctx.db.url);
  const started: ServiceProcess[] = [];
  const start = async (name: 'ingest' | 'processor' | 'query', env: Record<string, string>) => {
    const s = ctx.track(await startService(name, env, ctx.opts, `${ctx.tag}-e2e`));
    started.push(s);
    return s;
  };
  try {
    const ingest = await start('ingest', ingestEnv(ctx, topic, hits));
    await start('processor', {
      ...db,
      PROCESSOR_TOPIC: topic,
      PROCESSOR_API_HITS_TOPIC: hits,
      PROCESSOR_DLQ_TOPIC: dlq,
      PROCESSOR_GROUP_ID: groupId,
    });
    const query = await start('query', { ...db, QUERY_RATE_LIMIT_MAX: '0', QUERY_DLQ_TOPIC: dlq });
    await measure(ctx, ingest.url, query.url);
  } finally {
    for (const s of started) await ctx.stopService(s, ['e2e_latency']);
  }
}

async function measure(ctx: BenchContext, ingestUrl: string, queryUrl: string): Promise<void> {
  const { sizes } = ctx.opts;
  const probeUser = `bench-probe-${ctx.tag}`;
  const probes = new Map<string, Probe>();
  const pending = new Set<string>();
  let probeErrors = 0;

  const sendProbe = async () => {
    const id = randomUUID();
    const probe: Probe = { sentAt: performance.now(), sentWall: Date.now() };
    probes.set(id, probe);
    pending.add(id);
    try {
      const res = await fetch(`${ingestUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ eventId: id, userId: probeUser, action: 'bench_probe', page: '/bench/probe' }),
      });
      await res.body?.cancel();
      if (res.status !== 202) throw new Error(`status ${res.status}`);
      probe.acked = performance.now();
    } catch {
      probeErrors += 1;
      probes.delete(id);
      pending.delete(id);
    }
  };

  let polling = true;
  const poller = (async () => {
    while (polling || pending.size > 0) {
      if (pending.size === 0) {
        await sleep(POLL_MS);
        continue;
      }
      const oldest = Math.min(...[...pending].map((id) => probes.get(id)!.sentWall));
      const from = new Date(oldest - 2000).toISOString();
      const url = `${queryUrl}/api/interactions?userId=${encodeURIComponent(probeUser)}&from=${encodeURIComponent(from)}&limit=500`;
      try {
        const res = await fetch(url);
        const body = (await res.json()) as { items?: { eventId: string }[] };
        const now = performance.now();
        for (const item of body.items ?? []) {
          const probe = probes.get(item.eventId);
          if (probe && probe.seenAt === undefined) {
            probe.seenAt = now;
            pending.delete(item.eventId);
          }
        }
      } catch {
        // a failed poll is retried at the next tick
      }
      await sleep(POLL_MS);
    }
  })();

  // Warm-up: the consumer group must have joined and every code path be hot before timing anything.
  log('e2e_latency: waiting for the first probe to be visible (consumer group join, warm-up)');
  const warmDeadline = Date.now() + 90_000;
  for (let seen = 0; seen < 5; ) {
    if (Date.now() > warmDeadline) throw new Error('e2e_latency: probes never became visible during warm-up');
    await sendProbe();
    await sleep(200);
    seen = [...probes.values()].filter((p) => p.seenAt !== undefined).length;
  }
  await waitPending(pending, 10_000);
  probes.clear();
  pending.clear();

  const backgroundRate = Math.max(1, sizes.e2eRate - sizes.e2eProbeRate);
  const requests: LoadRequest[] = sampleEvents(512, 31).map((e) => ({
    method: 'POST',
    path: '/v1/events',
    body: JSON.stringify(e),
  }));
  log(
    `e2e_latency: ${sizes.e2eRate} events/s for ${sizes.e2eDurationS} s (${sizes.e2eProbeRate}/s timed probes, polled every ${POLL_MS} ms)`,
  );
  const loadStarted = performance.now();
  const load = runLoad({
    url: ingestUrl,
    connections: 32,
    durationS: sizes.e2eDurationS,
    overallRate: backgroundRate,
    requests,
  });
  const probeInterval = 1000 / sizes.e2eProbeRate;
  const inFlight: Promise<void>[] = [];
  for (let k = 0; performance.now() - loadStarted < sizes.e2eDurationS * 1000; k++) {
    inFlight.push(sendProbe());
    const next = loadStarted + (k + 1) * probeInterval;
    await sleep(Math.max(0, next - performance.now()));
  }
  const background = await load;
  await Promise.all(inFlight);
  await waitPending(pending, 30_000);
  polling = false;
  await poller;

  const sent = [...probes.values()];
  const seen = sent.filter((p) => p.seenAt !== undefined);
  const lat = summarize(seen.map((p) => p.seenAt! - p.sentAt));
  const acked = summarize(sent.filter((p) => p.acked !== undefined).map((p) => p.acked! - p.sentAt));
  const post = summarize(background.latencies);
  const problems = loadProblems(background);
  if (problems) log(`warning: e2e_latency load: ${problems}`);
  if (seen.length < sent.length)
    log(`warning: e2e_latency: ${sent.length - seen.length} probes never became visible`);
  ctx.emit(
    makeRow({
      name: 'e2e_latency',
      value: lat.p99,
      unit: 'ms',
      better: 'lower',
      latency: lat,
      goal: { field: 'p99', op: '<=', target: 250 },
      parameters: {
        rate: sizes.e2eRate,
        durationS: sizes.e2eDurationS,
        achievedRate: perSecond(background.ok + sent.length, background.ms),
        probes: sent.length,
        probesVisible: seen.length,
        probeErrors,
        pollIntervalMs: POLL_MS,
        maxMs: lat.max,
        probePostP50: acked.p50,
        probePostP99: acked.p99,
        postP50: post.p50,
        postP99: post.p99,
        measured:
          'probe POST sent -> first GET /api/interactions (polled every 20 ms) listing it; includes up to one poll interval',
        ...(problems ? { problems } : {}),
      },
      loadavg: currentLoad(),
    }),
  );
}

async function waitPending(pending: Set<string>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0 && Date.now() < deadline) await sleep(50);
}
