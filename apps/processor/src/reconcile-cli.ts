#!/usr/bin/env node
/**
 * `pnpm db:reconcile`: recomputes every aggregate from the raw rows and prints each difference.
 * Exit 0 with a summary line when there is none, 1 when there are differences, 2 on error.
 *   --rebuild   first rebuild every aggregate from the raw rows (repairs; blocks writers meanwhile)
 *   --json      print the result as one JSON object instead of text
 */
import { createPool, rebuildAggregates, reconcile, sessionRulesOf } from '@tracker/db';
import { loadReconcileConfig } from './config.js';

const args = new Set(process.argv.slice(2));
const unknown = [...args].filter((a) => !['--rebuild', '--json'].includes(a));
if (unknown.length > 0) {
  console.error(`unknown argument(s): ${unknown.join(' ')}\nusage: reconcile [--rebuild] [--json]`);
  process.exit(2);
}

const config = loadReconcileConfig();
const pool = createPool(config.DATABASE_URL, 2, 'tracker-reconcile');
const sessionRules = sessionRulesOf(config.TRACKER_SESSION_GAP_MINUTES);
try {
  const started = performance.now();
  if (args.has('--rebuild')) {
    const counts = await rebuildAggregates(pool, sessionRules);
    if (!args.has('--json'))
      console.log(
        `rebuilt: ${Object.entries(counts)
          .map(([t, n]) => `${t}=${n}`)
          .join(' ')}`,
      );
  }
  const result = await reconcile(pool, { limit: config.RECONCILE_MAX_PRINTED, sessionRules });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (args.has('--json')) {
    console.log(JSON.stringify({ ok: result.totalDifferences === 0, seconds: Number(seconds), ...result }));
  } else {
    for (const d of result.differences) {
      console.log(
        `${d.table} ${JSON.stringify(d.key)} ${d.column}: stored=${JSON.stringify(d.stored)} expected=${JSON.stringify(d.expected)}`,
      );
    }
    if (result.totalDifferences > result.differences.length) {
      console.log(`... and ${result.totalDifferences - result.differences.length} more differing rows`);
    }
    const skipped = result.tables.filter((t) => t.skipped);
    if (result.rawFrom && skipped.length > 0) {
      console.log(
        `raw rows before ${result.rawFrom.toISOString()} were dropped (TRACKER_RETENTION_DAYS): time buckets compared from then on; not compared (all-time totals): ${skipped.map((t) => t.table).join(' ')}`,
      );
    }
    const rows = result.tables.reduce((s, t) => s + t.rows, 0);
    const perTable = result.tables.map((t) => `${t.table}=${t.rows}`).join(' ');
    console.log(
      result.totalDifferences === 0
        ? `reconcile: OK, 0 differences in ${result.tables.length} tables (${rows} rows: ${perTable}) in ${seconds}s`
        : `reconcile: ${result.totalDifferences} differing rows (${result.tables
            .filter((t) => t.differences > 0)
            .map((t) => `${t.table}=${t.differences}`)
            .join(' ')}) in ${seconds}s`,
    );
  }
  process.exitCode = result.totalDifferences === 0 ? 0 : 1;
} catch (error) {
  console.error(`reconcile failed: ${(error as Error).message}`);
  process.exitCode = 2;
} finally {
  await pool.end();
}
