#!/usr/bin/env node
// p50/p95 of computeStats (aggregates) per filter set against an existing database, and one run of
// computeStatsFromRaw (naive GROUP BY over raw rows) as the baseline.
//   DATABASE_URL=postgresql://…/db node scripts/measure-stats.mjs [runs=20] [skipRaw]
// Runs sequentially (one request at a time) with a pool of 5, like one query-service request.
import { computeStats, createPool, statsSessionSettings } from '@tracker/db';
import { computeStatsFromRaw } from '@tracker/db/testing';

const runs = Number(process.argv[2] ?? 20);
const skipRaw = process.argv[3] === 'skipRaw';
// Session settings as the query service's (apps/query clients.plugin.ts).
const pool = createPool(
  process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tracker',
  5,
  'measure-stats',
  statsSessionSettings(),
);
const { rows } = await pool.query(
  `SELECT (SELECT user_id FROM users ORDER BY action_count DESC LIMIT 1) AS heavy,
          (SELECT user_id FROM users ORDER BY action_count LIMIT 1 OFFSET (SELECT count(*) / 2 FROM users)) AS median,
          (SELECT page FROM agg_page_action GROUP BY page ORDER BY sum(n) DESC LIMIT 1) AS page,
          (SELECT action FROM agg_page_action GROUP BY action ORDER BY sum(n) DESC LIMIT 1) AS action,
          (SELECT min(occurred_at) FROM interactions) AS lo, (SELECT max(occurred_at) FROM interactions) AS hi,
          (SELECT count(*) FROM interactions) AS total`,
);
const d = rows[0];
const span = d.hi.getTime() - d.lo.getTime();
const at = (fraction) => new Date(d.lo.getTime() + Math.floor(span * fraction));
const prefix = `${d.page.split('/').slice(0, 2).join('/')}/*`;
const sets = [
  ['unfiltered', {}, {}],
  ['userId (heaviest user)', { userId: d.heavy }, {}],
  ['userId (median user)', { userId: d.median }, {}],
  ['role', { role: 'ADMIN' }, {}],
  ['action', { action: d.action }, {}],
  ['page exact', { page: d.page }, {}],
  ['page prefix', { page: prefix }, {}],
  [
    'from/to 7 days, off-bucket',
    { from: at(0.5), to: new Date(at(0.5).getTime() + 7 * 86_400_000 + 1234) },
    {},
  ],
  [
    'from/to 30 days, UTC midnights',
    {
      from: new Date(Math.ceil(d.lo.getTime() / 86_400_000) * 86_400_000),
      to: new Date(Math.ceil(d.lo.getTime() / 86_400_000) * 86_400_000 + 30 * 86_400_000),
    },
    {},
  ],
  ['last 24 h', { from: new Date(d.hi.getTime() - 86_400_000) }, {}],
  ['unfiltered, Asia/Kathmandu', {}, { tz: 'Asia/Kathmandu' }],
  ['page prefix, Asia/Kolkata', { page: prefix }, { tz: 'Asia/Kolkata' }],
  ['role + action', { role: 'USER', action: d.action }, {}],
  [
    'action + 7 days',
    { action: d.action, from: at(0.5), to: new Date(at(0.5).getTime() + 7 * 86_400_000) },
    {},
  ],
];
const pct = (xs, p) =>
  xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
console.log(JSON.stringify({ interactions: Number(d.total), users: undefined, runs }));
for (const [name, filters, opts] of sets) {
  const times = [];
  await computeStats(pool, filters, opts); // warm-up (zone list, plans, cache)
  for (let i = 0; i < runs; i += 1) {
    const t = performance.now();
    await computeStats(pool, filters, opts);
    times.push(performance.now() - t);
  }
  let raw = null;
  if (!skipRaw) {
    const t = performance.now();
    await computeStatsFromRaw(pool, filters, opts);
    raw = Math.round(performance.now() - t);
  }
  console.log(
    JSON.stringify({
      name,
      p50: Number(pct(times, 50).toFixed(1)),
      p95: Number(pct(times, 95).toFixed(1)),
      rawMs: raw,
    }),
  );
}
await pool.end();
