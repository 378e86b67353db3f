/**
 * 5. stats_query: GET /api/stats (the query service's dist/server.js) over BENCH_STATS_ROWS stored
 *    interactions (5 million by default), unfiltered and with each filter, p50/p95/p99 of sequential
 *    requests (one connection: the latency one dashboard sees). Baseline: computeStatsFromRaw from
 *    packages/db (the naive GROUP BY over raw rows) on the same data, called directly.
 *
 * Loading: the raw rows are generated inside PostgreSQL (INSERT ... SELECT FROM generate_series, with
 * the indexes dropped and built again afterwards), then packages/db's rebuildAggregates() builds the
 * aggregates from them, exactly as it does after a bulk load in production.
 */
import type { InteractionFilters, pg, Stats, StatsOptions } from '@tracker/db';
import { computeStatsFromRaw } from '@tracker/db/testing';
import type { BenchContext } from './bench-context.js';
import { prepareData, roleSql, userIdSql } from './bench-data.js';
import { timeRequests } from './bench-load.js';
import { makeRow, summarize } from './bench-report.js';
import { currentLoad, log, ScratchDatabase, stackEnv, startService } from './bench-stack.js';
import { sitePages } from './seed-model.js';

/** Bump when the generated data changes, so a kept database is loaded again. */
// 2: rows stored in time order, as the processor stores live traffic (version 1 was in random order).
// 3: interactions partitioned by week, ids in interaction_ids.
const DATA_VERSION = 3;
const DAYS = 90;
const ACTIONS = [
  'page_view',
  'click',
  'scroll_depth',
  'search',
  'form_submit',
  'video_play',
  'add_to_cart',
  'download',
  'login',
  'copy_snippet',
  'share',
  'signup',
  'purchase',
  'export_report',
];

/** A query-string filter set and the same as InteractionFilters (for the baseline). */
export interface StatsVariant {
  filter: string;
  query: Record<string, string>;
  filters: InteractionFilters;
  /** Options for the baseline (the same as `query` carries, e.g. tz). */
  opts?: StatsOptions;
}

/** The instant of local midnight starting `date` (YYYY-MM-DD) in the IANA zone `tz`. */
export function localMidnight(date: string, tz: string): Date {
  const utc = Date.parse(`${date}T00:00:00Z`);
  const offset = (t: number) => {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      })
        .formatToParts(t)
        .map((p) => [p.type, p.value]),
    );
    const local = Date.UTC(
      +parts.year!,
      +parts.month! - 1,
      +parts.day!,
      +parts.hour!,
      +parts.minute!,
      +parts.second!,
    );
    return local - Math.floor(t / 1000) * 1000;
  };
  // Twice: the offset at the guess may differ from the one at the answer across a DST change.
  const first = utc - offset(utc);
  return new Date(utc - offset(first));
}

/** The calendar day (YYYY-MM-DD) of instant `t` in zone `tz`, `back` days earlier. */
function localDay(t: number, tz: string, back = 0): string {
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: tz }).format(t);
  return new Date(Date.parse(`${day}T00:00:00Z`) - back * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Unfiltered, then each filter alone (page twice: exact and prefix; from, to and a from-to range,
 * off every bucket edge), then the dashboard's "last 30 days" as a viewer in New York asks for it:
 * local midnights (hour-aligned in UTC, not day-aligned) and the daily series in that zone.
 */
export function statsVariants(now: number): StatsVariant[] {
  // Not aligned to any bucket: the parts finer than an hour are counted from raw rows.
  const week = new Date(now - 7 * 86_400_000 - 123_457);
  const month = new Date(now - 30 * 86_400_000 + 654_321);
  const tz = 'America/New_York';
  const from30 = localMidnight(localDay(now, tz, 29), tz);
  const to30 = localMidnight(localDay(now + 86_400_000, tz), tz);
  return [
    { filter: 'none', query: {}, filters: {} },
    { filter: 'userId', query: { userId: 'user-1' }, filters: { userId: 'user-1' } },
    { filter: 'role', query: { role: 'USER' }, filters: { role: 'USER' } },
    { filter: 'action', query: { action: 'click' }, filters: { action: 'click' } },
    { filter: 'page', query: { page: '/pricing' }, filters: { page: '/pricing' } },
    { filter: 'pagePrefix', query: { page: '/docs/*' }, filters: { page: '/docs/*' } },
    { filter: 'from', query: { from: week.toISOString() }, filters: { from: week } },
    { filter: 'to', query: { to: month.toISOString() }, filters: { to: month } },
    {
      filter: 'fromTo',
      query: { from: month.toISOString(), to: week.toISOString() },
      filters: { from: month, to: week },
    },
    {
      filter: 'last30DaysNewYork',
      query: { from: from30.toISOString(), to: to30.toISOString(), tz },
      filters: { from: from30, to: to30 },
      opts: { tz },
    },
  ];
}

/** Variants with a time range: their goal is p95 ≤ 20 ms (the others' 50 ms). */
const TIME_FILTERS = new Set(['from', 'to', 'fromTo', 'last30DaysNewYork']);

export async function runStatsBenchmark(ctx: BenchContext): Promise<void> {
  const { sizes } = ctx.opts;
  const rows = sizes.statsRows;
  const keep = ctx.opts.keepStatsDb;
  const db = new ScratchDatabase(
    ctx.opts.stack.databaseUrl,
    keep ? `tracker_bench_stats_${rows}` : `${ctx.tag}_stats`,
  );
  try {
    await prepareData(
      db,
      { label: 'stats_query', version: DATA_VERSION, rows, days: DAYS, insert: (c) => insertRows(c, rows) },
      keep,
    );
    const query = ctx.track(
      await startService(
        'query',
        { ...stackEnv(ctx.opts, db.url), QUERY_RATE_LIMIT_MAX: '0' },
        ctx.opts,
        `${ctx.tag}-stats`,
      ),
    );
    const now = Date.now();
    const variants = statsVariants(now);
    try {
      for (const v of variants) {
        const path = `/api/stats${v.filter === 'none' ? '' : `?${new URLSearchParams(v.query)}`}`;
        // 2 warm-up requests, which also tell how many requests fit the time budget.
        const { run: ours, latency: lat } = await timeRequests({
          url: query.url,
          request: { method: 'GET', path },
          warmup: 2,
          budgetS: sizes.statsBudgetS,
          most: sizes.statsRequests,
          least: 5,
          timeoutS: 120,
        });
        const answer = (await (await fetch(`${query.url}${path}`)).json()) as {
          totalActions: number;
          totalUsers: number;
          usersWithActions: number;
          gini: number;
          daily: unknown[];
        };

        const naive: number[] = [];
        let reference: Stats | undefined;
        for (let i = 0; i < sizes.statsBaselineReps; i++) {
          const t0 = performance.now();
          reference = await computeStatsFromRaw(db.pool, v.filters, v.opts);
          naive.push(performance.now() - t0);
        }
        const base = summarize(naive);
        const consistent =
          reference === undefined ||
          (reference.totalActions === answer.totalActions &&
            reference.totalUsers === answer.totalUsers &&
            reference.usersWithActions === answer.usersWithActions &&
            reference.gini === answer.gini &&
            JSON.stringify(reference.daily) === JSON.stringify(answer.daily));
        if (!consistent && reference !== undefined)
          log(`warning: stats_query ${v.filter}: /api/stats and the naive computation disagree`);
        log(
          `stats_query ${v.filter}: p50 ${lat.p50.toFixed(1)} ms, p95 ${lat.p95.toFixed(1)} ms; naive ${naive.length > 0 ? `${base.p50.toFixed(0)} ms` : 'skipped'}`,
        );
        ctx.emit(
          makeRow({
            name: 'stats_query',
            value: lat.p95,
            unit: 'ms',
            better: 'lower',
            baseline: naive.length > 0 ? base.p95 : null,
            latency: lat,
            goal: { field: 'p95', op: '<=', target: TIME_FILTERS.has(v.filter) ? 20 : 50 },
            parameters: {
              filter: v.filter,
              query: v.query,
              rows,
              requests: ours.ok,
              connections: 1,
              baselineP50: base.p50,
              baselineReps: naive.length,
              totalActions: answer.totalActions,
              matchesBaseline: reference === undefined ? null : consistent,
              baselineWhat:
                'computeStatsFromRaw (naive GROUP BY over raw rows), same data, called in-process',
            },
            loadavg: currentLoad(),
          }),
        );
      }
    } finally {
      await ctx.stopService(query, ['stats_query']);
    }
  } finally {
    if (keep) await db.close();
    else await db.drop();
  }
}

/**
 * Synthetic raw rows generated by PostgreSQL itself: rows/100 users with skewed activity (2% ADMIN,
 * ~55% USER, the rest GUEST), the seed's ~90 pages and 14 actions with power-law popularity, times
 * spread over the last 90 days; one identify call for a third of the USERs.
 */
async function insertRows(client: pg.PoolClient, rows: number): Promise<void> {
  const users = Math.max(10, Math.round(rows / 100));
  const pages = sitePages().map((p) => p.path);
  await client.query(
    `INSERT INTO interactions (event_id, user_id, role, action, page, occurred_at, received_at, session_id,
                               properties, user_agent, is_bot, kafka_partition, kafka_offset)
     SELECT gen_random_uuid(), ${userIdSql('u')}, ${roleSql('u')},
            ($3::text[])[1 + floor(cardinality($3::text[]) * power(ra, 3))::int],
            ($2::text[])[1 + floor(cardinality($2::text[]) * power(rp, 2))::int],
            t, t + interval '50 milliseconds', 's-' || (i / 8), '{"title": "bench"}'::jsonb,
            'Mozilla/5.0 (X11; Linux x86_64) bench', false, i % 12, i / 12
       FROM (SELECT i, floor($4::int * power(random(), 2.5))::int AS u, random() AS ra, random() AS rp,
                    date_trunc('milliseconds', now() - random() * make_interval(days => $5::int)) AS t
               FROM generate_series(1, $1::int) AS i) s
      ORDER BY t`,
    [rows, pages, ACTIONS, users, DAYS],
  );
  await client.query(
    `INSERT INTO identifies (event_id, user_id, role, traits, occurred_at, received_at, kafka_partition, kafka_offset)
     SELECT gen_random_uuid(), ${userIdSql('u')}, ${roleSql('u')}, jsonb_build_object('plan', 'pro'),
            now() - make_interval(days => $2::int), now() - make_interval(days => $2::int), 0, u
       FROM generate_series(0, $1::int - 1) AS u
      WHERE u % 50 <> 0 AND u % 100 < 56 AND u % 3 = 0`,
    [users, DAYS + 1],
  );
}
