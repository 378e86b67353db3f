#!/usr/bin/env node
// The SQL side of the pipeline alone: the benchmark's traffic stored through storeInteractions (every
// aggregate, as the processor does) in batches, N connections at a time, into a scratch database.
// No Kafka, no Avro, no processor: what the database work costs, to compare changes to the statement.
//   node bench/scripts/measure-store.mjs [events=200000] [batch=2360] [connections=2]
// Env: STORE_MODE=raw     the raw INSERT only (the pipeline benchmark's baseline statement)
//      STORE_SPAN_S=n     occurred_at squeezed into the last n seconds (default: 28 days, as the bench)
//      STORE_IN_ORDER=1   events stored in time order (live traffic), not the traffic model's order
//      STORE_EXPLAIN=1    afterwards, EXPLAIN ANALYZE of one more batch: time per CTE (aggregate)
//      DATABASE_URL       server to use (default postgresql://postgres@127.0.0.1:5432/postgres); the
//                         scratch database tracker_measure_store is dropped and created on it
// Prints one JSON line: events/s (and how the sessions table was kept: sessions extended in place,
// spans recomputed). Needs `pnpm build` (reads bench/dist and packages/db/dist).
import {
  createPool,
  ensureDatabase,
  interactionColumns,
  migrate,
  Prisma,
  pg,
  rawInteractionsInsert,
  storeInteractions,
  toInteractionRow,
} from '@tracker/db';
import { keyPartition } from '@tracker/kafka';
import { inTransactions } from '../dist/bench-pipeline.js';
import { batches, sampleEvents, toRecords } from '../dist/bench-traffic.js';

const [events, size, connections] = [200_000, 2360, 2].map((d, i) => Number(process.argv[2 + i] ?? d));
const PARTITIONS = 12;
const server = new URL(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
const url = new URL(server);
url.pathname = '/tracker_measure_store';
const admin = new pg.Client({ connectionString: server.toString() });
await admin.connect();
await admin.query('DROP DATABASE IF EXISTS tracker_measure_store WITH (FORCE)');
await admin.end();
await ensureDatabase(url.toString());
await migrate(url.toString());
const pool = createPool(url.toString(), connections + 1);

let records = toRecords(sampleEvents(events, 21));
if (process.env.STORE_SPAN_S) {
  const end = records.reduce((m, r) => Math.max(m, r.occurredAt), 0);
  const k = (Number(process.env.STORE_SPAN_S) * 1000) / (28 * 86_400_000);
  records = records.map((r) => ({ ...r, occurredAt: Math.round(end - (end - r.occurredAt) * k) }));
}
// Live traffic arrives in time order; the traffic model's order is not (a backfill's would not be either).
if (process.env.STORE_IN_ORDER) records.sort((a, b) => a.occurredAt - b.occurredAt);
// Split by user as ingest partitions the topic, so concurrent batches hold different users (as the
// processor's do); batches taken round-robin over the partitions.
const partitionOf = (userId) => keyPartition(userId, PARTITIONS);
const parts = Array.from({ length: PARTITIONS }, () => []);
records.forEach((r, i) => {
  const p = partitionOf(r.userId);
  parts[p].push(toInteractionRow(r, p, String(i)));
});
const perPartition = parts.map((p) => batches(p, size));
const chunks = [];
for (let k = 0; perPartition.some((b) => k < b.length); k += 1) {
  for (const b of perPartition) if (b[k]) chunks.push(b[k]);
}

// The statements as Prisma.sql builds them, run on a plain connection: the SQL's cost without
// Prisma Client's own (the processor pays that too; `./tracker bench` measures the whole).
const sqlOn = (client) => {
  // Called with a Prisma.sql value, or as a tagged template (db.$queryRaw`...`).
  const run = (sql, ...values) => {
    const statement = Array.isArray(sql) ? Prisma.sql(sql, ...values) : sql;
    return client.query(statement.text, statement.values).then((r) => r.rows);
  };
  return { $queryRaw: run, $executeRaw: (sql) => run(sql).then((rows) => rows.length) };
};
const raw = process.env.STORE_MODE === 'raw';
const sessions = { appended: 0, recomputed: 0 };
const ms = await inTransactions(pool, chunks, connections, (client, chunk) => {
  if (!raw)
    return storeInteractions(sqlOn(client), chunk).then((r) => {
      sessions.appended += r.sessions?.appended ?? 0;
      sessions.recomputed += r.sessions?.recomputed ?? 0;
    });
  const insert = rawInteractionsInsert('interactions', interactionColumns(chunk));
  return client.query(insert.text, insert.values);
});
console.log(
  JSON.stringify({
    name: raw ? 'store_raw' : 'store',
    value: Math.round((events / ms) * 1000),
    unit: 'events/s',
    events,
    batch: size,
    connections,
    spanSeconds: Number(process.env.STORE_SPAN_S ?? 28 * 86_400),
    ...(raw ? {} : { sessions }),
  }),
);

if (process.env.STORE_EXPLAIN && !raw) {
  // One more batch of one partition's users, EXPLAIN ANALYZEd and rolled back.
  const extra = toRecords(sampleEvents(events, 77))
    .filter((r) => partitionOf(r.userId) === 0)
    .slice(0, size)
    .map((r, i) => toInteractionRow(r, 0, String(events + i)));
  const client = await pool.connect();
  const sql = sqlOn(client);
  const query = sql.$queryRaw;
  sql.$queryRaw = (template, ...values) => {
    const statement = Array.isArray(template) ? Prisma.sql(template, ...values) : template;
    return statement.text.includes('fresh AS (')
      ? client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`, statement.values).then((r) => {
          const plan = r.rows[0]['QUERY PLAN'][0];
          for (const node of plan.Plan.Plans ?? []) {
            const input = node.Plans?.[0]?.['Actual Rows'];
            console.log(
              `${(node['Subplan Name'] ?? node['Node Type']).padEnd(34)} ${String(node['Actual Total Time'].toFixed(1)).padStart(7)} ms  rows in ${input ?? '-'}`,
            );
          }
          console.log(
            `rows ${extra.length}: execution ${plan['Execution Time'].toFixed(1)} ms, planning ${plan['Planning Time'].toFixed(1)} ms`,
          );
          return [{ inserted: 0, newest: null }];
        })
      : query(statement);
  };
  await client.query('BEGIN');
  await storeInteractions(sql, extra);
  await client.query('ROLLBACK');
  client.release();
}
await pool.end();
