/**
 * 3. pipeline: events/s stored by ONE processor (its dist/server.js) from a pre-filled topic, timed
 *    from its first stored row until every partition's committed offset reaches the end of the topic.
 *    Baseline: the same rows inserted by set-based SQL (INSERT ... SELECT FROM unnest) into a scratch
 *    table shaped like `interactions` (same columns and indexes), in batches of the size the
 *    processor actually got, with the processor's concurrency (2 partitions at a time): what storing
 *    the raw rows costs without Kafka, Avro decoding, validation and the aggregates. Limit: the same
 *    batches as a binary COPY into another such table (copy-binary.ts), the fastest way in.
 */
import {
  AGGREGATE_TABLES,
  type InteractionRow,
  interactionColumns,
  type pg,
  rawInteractionsInsert,
  toInteractionRow,
} from '@tracker/db';
import type { InteractionRecord } from '@tracker/schemas';
import type { BenchContext } from './bench-context.js';
import { makeRow, perSecond } from './bench-report.js';
import {
  currentLoad,
  histogramMean,
  log,
  scrapeMetrics,
  settle,
  sleep,
  stackEnv,
  startService,
} from './bench-stack.js';
import { batches, sampleEvents, toMessages, toRecords } from './bench-traffic.js';
import { copyInteractions } from './copy-binary.js';

const PARTITIONS = 12;
const POLL_MS = 100;
/** PROCESSOR_PARTITIONS_CONCURRENTLY's default: batches stored at once by one processor. */
const PROCESSOR_CONCURRENCY = 2;

interface PipelineTopics {
  topic: string;
  hits: string;
  dlq: string;
  records: InteractionRecord[];
}

/** Creates the topics and fills the pipeline topic with `n` events (Avro, as ingest writes them). */
async function fillTopic(ctx: BenchContext, name: string, n: number): Promise<PipelineTopics> {
  const topic = `${ctx.tag}.${name}`;
  const hits = `${ctx.tag}.${name}-hits`;
  const dlq = `${ctx.tag}.${name}-dlq`;
  await ctx.topics.create([
    { topic, partitions: PARTITIONS },
    { topic: hits, partitions: 1 },
    { topic: dlq, partitions: 1 },
  ]);
  log(`${name}: producing ${n} events to ${topic} (${PARTITIONS} partitions)`);
  await ctx.serde.register();
  const records = toRecords(sampleEvents(n, 21));
  const producer = ctx.topics.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (const chunk of batches(records, 5000)) {
    await producer.send({ topic, acks: -1, messages: toMessages(ctx.serde, chunk) });
  }
  await producer.disconnect();
  return { topic, hits, dlq, records };
}

interface ProcessorsRun {
  /** From the first stored row until every partition's committed offset reached the end. */
  ms: number;
  stored: number;
  meanBatch: number;
  meanBatchMs: number;
  loadavg: number[];
}

/**
 * Empties the tables, starts `instances` processors in one new consumer group on the filled topic
 * and times them until the group has committed every partition to its end.
 */
async function runProcessors(
  ctx: BenchContext,
  t: PipelineTopics,
  instances: number,
  phase: string,
): Promise<ProcessorsRun> {
  const n = t.records.length;
  const groupId = `${ctx.tag}_${phase}_${instances}`;
  ctx.topics.forgetGroup(groupId);
  const pool = ctx.db.pool;
  await pool.query(
    `TRUNCATE interactions, interaction_ids, identifies, pipeline_status, ${AGGREGATE_TABLES.join(', ')}`,
  );
  await settle(phase);
  log(`${phase}: starting ${instances} processor${instances > 1 ? 's' : ''}`);
  const admin = ctx.topics.kafka.admin();
  await admin.connect();
  const env = {
    ...stackEnv(ctx.opts, ctx.db.url),
    PROCESSOR_TOPIC: t.topic,
    PROCESSOR_API_HITS_TOPIC: t.hits,
    PROCESSOR_DLQ_TOPIC: t.dlq,
    PROCESSOR_GROUP_ID: groupId,
  };
  const processors = await Promise.all(
    Array.from({ length: instances }, async () =>
      ctx.track(await startService('processor', env, ctx.opts, ctx.tag, { measureIdle: false })),
    ),
  );
  let first: number | undefined;
  let done: number | undefined;
  const batchSizes: number[] = [];
  const batchMs: number[] = [];
  let loadDuring: number[] = [];
  const stored = async () =>
    (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM interactions')).rows[0]!.n;
  try {
    const deadline = Date.now() + Math.max(180_000, n * 5);
    while (first === undefined) {
      if (Date.now() > deadline) throw new Error(`${phase}: the processors stored nothing in time`);
      if ((await stored()) > 0) first = performance.now();
      else await sleep(20);
    }
    const ends = await admin.fetchTopicOffsets(t.topic);
    while (done === undefined) {
      if (Date.now() > deadline)
        throw new Error(`${phase}: not done in time (${await stored()} of ${n} stored)`);
      const committed = await admin.fetchOffsets({ groupId, topics: [t.topic] });
      const at = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
      if (ends.every((e) => at.get(e.partition) === e.high)) done = performance.now();
      // NOTE: every 100 ms, not faster: each poll costs the broker and this process CPU that the
      // processors (2 cores in all) would otherwise have; at 20 ms it was ~18% of a core. The end is
      // then known to ±100 ms of a run that takes 10 s or more.
      else await sleep(POLL_MS);
    }
    loadDuring = currentLoad();
    for (const processor of processors) {
      const metrics = await scrapeMetrics(processor.url);
      batchSizes.push(histogramMean(new Map(), metrics, 'processor_batch_size'));
      batchMs.push(histogramMean(new Map(), metrics, 'processor_batch_duration_seconds') * 1000);
    }
  } finally {
    await admin.disconnect();
    await Promise.all(processors.map((p) => ctx.stopService(p, [phase])));
  }
  const storedRows = await stored();
  if (storedRows !== n) log(`warning: ${phase} stored ${storedRows} of ${n} events`);
  const mean = (xs: number[]) => {
    const finite = xs.filter(Number.isFinite);
    return finite.reduce((a, b) => a + b, 0) / finite.length;
  };
  return {
    ms: done - first,
    stored: storedRows,
    meanBatch: mean(batchSizes),
    meanBatchMs: mean(batchMs),
    loadavg: loadDuring,
  };
}

/** Bytes per million stored events: the raw table and the aggregate tables (with their indexes). */
async function bytesPerMillion(
  ctx: BenchContext,
  events: number,
): Promise<{ raw: number; aggregates: number }> {
  const size = async (tables: readonly string[]) =>
    Number(
      (
        await ctx.db.pool.query<{ bytes: string }>(
          // A table and, when it is partitioned, its partitions (the parent itself holds nothing).
          `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS bytes
             FROM pg_class c
            WHERE c.oid = ANY($1::text[]::regclass[])
               OR c.oid IN (SELECT t.relid FROM unnest($1::text[]::regclass[]) AS r(rel), pg_partition_tree(r.rel) AS t)`,
          [tables],
        )
      ).rows[0]!.bytes,
    );
  const per = (bytes: number) => Math.round((bytes / events) * 1_000_000);
  return { raw: per(await size(['interactions'])), aggregates: per(await size(AGGREGATE_TABLES)) };
}

export async function runPipelineBenchmark(ctx: BenchContext): Promise<void> {
  const n = ctx.opts.sizes.pipelineEvents;
  const filled = await fillTopic(ctx, 'pipeline', n);
  const run = await runProcessors(ctx, filled, 1, 'pipeline');
  const ours = perSecond(run.stored, run.ms);
  const size = await bytesPerMillion(ctx, run.stored);
  const records = filled.records;

  const batchSize = Number.isFinite(run.meanBatch) ? Math.max(1, Math.round(run.meanBatch)) : 500;
  log(
    `pipeline baseline: set-based INSERT of the same ${n} rows, batches of ${batchSize}, ${PROCESSOR_CONCURRENCY} at a time`,
  );
  await settle('pipeline baseline');
  const base = await insertBaseline(ctx, records, batchSize);
  log(
    `pipeline limit: binary COPY of the same ${n} rows, batches of ${batchSize}, ${PROCESSOR_CONCURRENCY} at a time`,
  );
  await settle('pipeline limit');
  const copy = await copyLimit(ctx, records, batchSize);

  ctx.emit(
    makeRow({
      name: 'pipeline',
      value: ours,
      unit: 'events/s',
      baseline: base,
      limit: {
        value: copy,
        what: 'COPY ... FROM STDIN (FORMAT binary) into a copy of interactions (same indexes), same batches, 2 at a time',
      },
      goal: { field: 'ratio', op: '>=', target: 0.75 },
      parameters: {
        events: n,
        stored: run.stored,
        partitions: PARTITIONS,
        seconds: run.ms / 1000,
        meanBatchSize: batchSize,
        meanBatchMs: run.meanBatchMs,
        rawBytesPerMillionEvents: size.raw,
        aggregateBytesPerMillionEvents: size.aggregates,
        baselineWhat:
          'INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING into a copy of interactions (same indexes), same batches, 2 at a time',
        loadavgDuringProcessor: run.loadavg,
      },
      loadavg: currentLoad(),
    }),
  );
}

/** Processor instances of the scaling curve (one consumer group on the 12-partition topic). */
export const SCALE_INSTANCES = [1, 2, 3] as const;

/**
 * pipeline_scale: the same filled topic stored by 1, 2 and 3 processors in one consumer group;
 * events/s each, with the single instance's figure as the baseline (ratio = speed-up).
 */
export async function runPipelineScaleBenchmark(ctx: BenchContext): Promise<void> {
  const filled = await fillTopic(ctx, 'pipeline-scale', ctx.opts.sizes.pipelineEvents);
  let single: number | null = null;
  for (const instances of SCALE_INSTANCES) {
    const run = await runProcessors(ctx, filled, instances, 'pipeline_scale');
    const value = perSecond(run.stored, run.ms);
    single ??= value;
    ctx.emit(
      makeRow({
        name: 'pipeline_scale',
        value,
        unit: 'events/s',
        baseline: instances === 1 ? null : single,
        parameters: {
          instances,
          events: filled.records.length,
          stored: run.stored,
          partitions: PARTITIONS,
          seconds: run.ms / 1000,
          meanBatchSize: run.meanBatch,
          baselineWhat: 'the same topic stored by one processor',
          loadavgDuringProcessors: run.loadavg,
        },
        loadavg: currentLoad(),
      }),
    );
  }
}

/**
 * Runs `work` on every chunk, each in its own transaction, `connections` at a time, in order of
 * the chunks (as the processor stores its batches). Returns the milliseconds it took.
 */
export async function inTransactions<T>(
  pool: pg.Pool,
  chunks: T[],
  connections: number,
  work: (client: pg.PoolClient, chunk: T, index: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = await pool.connect();
      try {
        for (let i = next++; i < chunks.length; i = next++) {
          await client.query('BEGIN');
          await work(client, chunks[i]!, i);
          await client.query('COMMIT');
        }
      } finally {
        client.release();
      }
    }),
  );
  return performance.now() - started;
}

/**
 * Events/s of storing `records` into a scratch copy of `interactions` (same indexes), in the
 * processor's batches and concurrency, each batch's rows made as the processor makes them.
 */
async function intoScratchTable(
  ctx: BenchContext,
  records: InteractionRecord[],
  batchSize: number,
  table: string,
  store: (client: pg.PoolClient, rows: InteractionRow[]) => Promise<unknown>,
): Promise<number> {
  const pool = ctx.db.pool;
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.query(`CREATE TABLE ${table} (LIKE interactions INCLUDING ALL)`);
  const ms = await inTransactions(
    pool,
    batches(records, batchSize),
    PROCESSOR_CONCURRENCY,
    (client, chunk, i) =>
      store(
        client,
        chunk.map((r, j) => toInteractionRow(r, (i * batchSize + j) % PARTITIONS, String(i * batchSize + j))),
      ),
  );
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  if (rows[0]!.n !== records.length) log(`warning: ${table} holds ${rows[0]!.n} of ${records.length} rows`);
  await pool.query(`DROP TABLE ${table}`);
  return perSecond(records.length, ms);
}

/** The baseline: the processor's own raw-row INSERT (interactionColumns, rawInteractionsInsert). */
function insertBaseline(ctx: BenchContext, records: InteractionRecord[], batchSize: number): Promise<number> {
  return intoScratchTable(ctx, records, batchSize, 'bench_raw', (client, rows) => {
    const insert = rawInteractionsInsert('bench_raw', interactionColumns(rows));
    return client.query(insert.text, insert.values);
  });
}

/** The limit: the same rows as one binary COPY per batch. */
function copyLimit(ctx: BenchContext, records: InteractionRecord[], batchSize: number): Promise<number> {
  return intoScratchTable(ctx, records, batchSize, 'bench_copy', (client, rows) =>
    copyInteractions(client, 'bench_copy', rows),
  );
}
