#!/usr/bin/env node
// computeStats (what /api/stats runs) in-process on the stats_query row's kept database, timed per
// request and per SQL statement: where a filter's time goes, without HTTP and the load tool.
//   node bench/scripts/trace-stats.mjs [filter=fromTo] [requests=50]
// filter: a stats_query filter name (none, userId, role, action, page, pagePrefix, from, to, fromTo,
// last30DaysNewYork). Env: STATS_NOW=ISO instant the filters are relative to (default now: the
// edges of a time range, counted from raw rows, grow towards noon UTC); STATS_FILTERS=JSON filters
// instead of a named one (from/to as ISO strings); STATS_PG='{"name":"value"}' session settings on
// top of the query service's (jit off, work_mem 32MB, no parallel workers; a pool of 10); DATABASE_URL (default
// the kept database of `BENCH_KEEP_STATS_DB=1 ./tracker bench --only stats_query`).
// Prints the request times (p50, p90, p95, max) and each statement's median. Needs `pnpm build`.
// (apps/processor/scripts/measure-stats.mjs times whole requests for filter sets derived from any
// database's data; this one is the benchmark's filters, statement by statement.)
import { computeStats, createPool, pg, statsSessionSettings } from '@tracker/db';
import { percentileSorted, summarize } from '../dist/bench-report.js';
import { statsVariants } from '../dist/bench-stats-query.js';

const [which, requests] = [process.argv[2] ?? 'fromTo', Number(process.argv[3] ?? 50)];
const url = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tracker_bench_stats_5000000';
const pool = createPool(url, 10, 'tracker-trace-stats', {
  ...statsSessionSettings(),
  ...JSON.parse(process.env.STATS_PG ?? '{}'),
});
const now = process.env.STATS_NOW ? Date.parse(process.env.STATS_NOW) : Date.now();
let variant = statsVariants(now).find((v) => v.filter === which);
if (process.env.STATS_FILTERS) {
  const filters = JSON.parse(process.env.STATS_FILTERS);
  for (const k of ['from', 'to']) if (filters[k]) filters[k] = new Date(filters[k]);
  variant = { filter: 'custom', filters };
}
if (!variant) throw new Error(`unknown filter '${which}'`);

// Every statement's time from sending to its result, keyed by its first words.
const statements = new Map();
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (text, values, callback) {
  const started = performance.now();
  const result = query.call(this, text, values, callback);
  if (typeof text === 'string' && typeof result?.then === 'function') {
    const key = text.replace(/\s+/g, ' ').slice(0, 80);
    result.then(
      () => statements.set(key, [...(statements.get(key) ?? []), performance.now() - started]),
      () => {},
    );
  }
  return result;
};

// Warm-up, not counted: the first request opens the pool's connections (~80-170 ms).
await computeStats(pool, variant.filters, variant.opts);
statements.clear();
const totals = [];
for (let i = 0; i < requests; i += 1) {
  const started = performance.now();
  await computeStats(pool, variant.filters, variant.opts);
  totals.push(performance.now() - started);
}
await pool.end();
const sorted = Float64Array.from(totals).sort();
const { p50, p95, max } = summarize(totals);
const ms = (v) => +v.toFixed(1);
console.log(
  JSON.stringify({
    filter: variant.filter,
    requests,
    p50: ms(p50),
    p90: ms(percentileSorted(sorted, 90)),
    p95: ms(p95),
    max: ms(max),
  }),
);
for (const [key, times] of statements) {
  const median = summarize(times).p50;
  console.log(`${median.toFixed(1).padStart(7)} ms ${String(times.length).padStart(5)}x  ${key}`);
}
