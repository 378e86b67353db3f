/**
 * 3. pipeline: events/s stored by ONE processor (its dist/server.js) from a pre-filled topic, timed
 *    from its first stored row until every partition's committed offset reaches the end of the topic.
 *    Baseline: the same rows inserted by set-based SQL (INSERT ... SELECT FROM unnest) into a scratch
 *    table shaped like `interactions` (same columns and indexes), in batches of the size the
 *    processor actually got, with the processor's concurrency (2 partitions at a time): what storing
 *    the raw rows costs without Kafka, Avro decoding, validation and the aggregates. Limit: the same
 *    batches as a binary COPY into another such table (copy-binary.ts), the fastest way in.
 */
import { pipeline } from 'node:stream/promises';
import {
  type InteractionRow,
  interactionColumns,
  type pg,
  rawInteractionsInsert,
  toInteractionRow,
} from '@tracker/db';
import type { InteractionRecord } from '@tracker/schemas';
import { from as copyFrom } from 'pg-copy-streams';
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
import { COPY_COLUMNS, encodeCopyBinary } from './copy-binary.js';

const PARTITIONS = 12;
const POLL_MS = 100;
/** PROCESSOR_PARTITIONS_CONCURRENTLY's default: batches stored at once by one processor. */
const PROCESSOR_CONCURRENCY = 2;

export async function runPipelineBenchmark(ctx: BenchContext): Promise<void> {
  const n = ctx.opts.sizes.pipelineEvents;
  const topic = `${ctx.tag}.pipeline`;
  const hits = `${ctx.tag}.pipeline-hits`;
  const dlq = `${ctx.tag}.pipeline-dlq`;
  const groupId = `${ctx.tag}_pipeline`;
  await ctx.topics.create([
    { topic, partitions: PARTITIONS },
    { topic: hits, partitions: 1 },
    { topic: dlq, partitions: 1 },
  ]);
  ctx.topics.forgetGroup(groupId);
  const pool = ctx.db.pool;
  await pool.query('TRUNCATE interactions, identifies, users, pipeline_status');

  log(`pipeline: producing ${n} events to ${topic} (${PARTITIONS} partitions)`);
  await ctx.serde.register();
  const records = toRecords(sampleEvents(n, 21));
  const producer = ctx.topics.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (const chunk of batches(records, 5000)) {
    await producer.send({ topic, acks: -1, messages: toMessages(ctx.serde, chunk) });
  }
  await producer.disconnect();

  await settle('pipeline');
  log('pipeline: starting one processor');
  const admin = ctx.topics.kafka.admin();
  await admin.connect();
  const processor = ctx.track(
    await startService(
      'processor',
      {
        ...stackEnv(ctx.opts, ctx.db.url),
        PROCESSOR_TOPIC: topic,
        PROCESSOR_API_HITS_TOPIC: hits,
        PROCESSOR_DLQ_TOPIC: dlq,
        PROCESSOR_GROUP_ID: groupId,
      },
      ctx.opts,
      ctx.tag,
    ),
  );
  let first: number | undefined;
  let done: number | undefined;
  let meanBatch = Number.NaN;
  let meanBatchMs = Number.NaN;
  try {
    const deadline = Date.now() + Math.max(180_000, n * 5);
    const stored = async () =>
      (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM interactions')).rows[0]!.n;
    while (first === undefined) {
      if (Date.now() > deadline) throw new Error('pipeline: the processor stored nothing in time');
      if ((await stored()) > 0) first = performance.now();
      else await sleep(20);
    }
    const ends = await admin.fetchTopicOffsets(topic);
    while (done === undefined) {
      if (Date.now() > deadline)
        throw new Error(`pipeline: not done in time (${await stored()} of ${n} stored)`);
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      const at = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
      if (ends.every((e) => at.get(e.partition) === e.high)) done = performance.now();
      // NOTE: every 100 ms, not faster: each poll costs the broker and this process CPU that the
      // processor (2 cores in all) would otherwise have; at 20 ms it was ~18% of a core. The end is
      // then known to ±100 ms of a run that takes 10 s or more.
      else await sleep(POLL_MS);
    }
    const metrics = await scrapeMetrics(processor.url);
    meanBatch = histogramMean(new Map(), metrics, 'processor_batch_size');
    meanBatchMs = histogramMean(new Map(), metrics, 'processor_batch_duration_seconds') * 1000;
  } finally {
    await admin.disconnect();
    await ctx.stopService(processor, ['pipeline']);
  }
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM interactions');
  const storedRows = rows[0]!.n;
  if (storedRows !== n) log(`warning: pipeline stored ${storedRows} of ${n} events`);
  const seconds = (done - first) / 1000;
  const ours = perSecond(storedRows, done - first);
  const loadOurs = currentLoad();

  const batchSize = Number.isFinite(meanBatch) ? Math.max(1, Math.round(meanBatch)) : 500;
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
        stored: storedRows,
        partitions: PARTITIONS,
        seconds,
        meanBatchSize: batchSize,
        meanBatchMs,
        baselineWhat:
          'INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING into a copy of interactions (same indexes), same batches, 2 at a time',
        loadavgDuringProcessor: loadOurs,
      },
      loadavg: currentLoad(),
    }),
  );
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
  const sql = `COPY bench_copy (${COPY_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`;
  return intoScratchTable(ctx, records, batchSize, 'bench_copy', (client, rows) => {
    const encoded = encodeCopyBinary(rows);
    return pipeline(
      async function* () {
        yield encoded;
      },
      client.query(copyFrom(sql)),
    );
  });
}
