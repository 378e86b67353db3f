/**
 * 6. reports: the query service's report endpoints (dist/server.js) over BENCH_REPORTS_ROWS generated
 *    events made of visits (5 million by default, BENCH_REPORTS_USERS users, 90 days), p50/p95/p99 of
 *    sequential requests per variant:
 *    - session_stats: GET /api/sessions/stats (the sessions table). Baseline: the same statistics
 *      recomputed from raw rows (packages/db's sessionsSql over the range's interactions) per request.
 *    - funnel: POST /api/funnels, page_view → add_to_cart → signup → purchase over the last 30 days.
 *    - retention: GET /api/retention, 12 weeks.
 *    Funnels read raw rows after the entry (the entries of whole days from agg_user_action_first_1d): no baseline.
 *
 * Loading (bench-data.ts): visits generated inside PostgreSQL, the indexes dropped and built again,
 * then rebuildAggregates(), which also fills the sessions table (fillSessions, timed on its own).
 */
import {
  DEFAULT_SESSION_RULES,
  Prisma,
  type pg,
  pgTime,
  retentionTable,
  sessionEventColumns,
  sessionsSql,
} from '@tracker/db';
import type { BenchContext } from './bench-context.js';
import { type LoadReport, prepareData, roleSql, userIdSql } from './bench-data.js';
import { type LoadRequest, loadProblems, timeRequests } from './bench-load.js';
import { type Goal, makeRow, summarize } from './bench-report.js';
import { currentLoad, log, ScratchDatabase, stackEnv, startService } from './bench-stack.js';
import { sitePages } from './seed-model.js';

/** Bump when the generated data changes, so a kept database is loaded again. */
const DATA_VERSION = 1;
const DAYS = 90;
const DAY_MS = 86_400_000;
/** Statement time limit of the query service for this benchmark (its default, 15 s, is below a slow funnel). */
const STATEMENT_TIMEOUT_MS = 120_000;

export type ReportName = 'session_stats' | 'funnel' | 'retention';

/** The issue's goals: p95 in ms. */
export const REPORT_GOALS: Record<ReportName, Goal> = {
  session_stats: { field: 'p95', op: '<=', target: 50 },
  funnel: { field: 'p95', op: '<=', target: 300 },
  retention: { field: 'p95', op: '<=', target: 200 },
};

/** Which sessions a session_stats variant counts (for the table check and the raw-row baseline). */
export interface SessionChoice {
  /** Sessions that start in [from, to) (ms). */
  from?: number;
  to?: number;
  /** Sessions holding an event of this role / on a page with this prefix. */
  role?: string;
  pagePrefix?: string;
}

export interface ReportVariant {
  name: ReportName;
  variant: string;
  request: LoadRequest;
  /** session_stats only. */
  sessions?: SessionChoice;
  /** retention only: the start and return actions the request names (absent: any). */
  retention?: { start?: string; return?: string };
}

const FUNNEL_STEPS = ['page_view', 'add_to_cart', 'signup', 'purchase'].map((a) => ({ actions: [a] }));

/** Every request the benchmark times, in order, for `now` (the ranges end there). */
export function reportVariants(now: number): ReportVariant[] {
  const from = now - 30 * DAY_MS;
  const range = { from: new Date(from).toISOString(), to: new Date(now).toISOString() };
  const get = (path: string, query: Record<string, string>): LoadRequest => {
    const qs = new URLSearchParams(query).toString();
    return { method: 'GET', path: qs === '' ? path : `${path}?${qs}` };
  };
  const funnel = (extra: Record<string, string>): LoadRequest => ({
    method: 'POST',
    path: '/api/funnels',
    body: JSON.stringify({ steps: FUNNEL_STEPS, ...range, ...extra }),
  });
  const retention = { period: 'week', periods: '12' };
  return [
    { name: 'session_stats', variant: 'none', request: get('/api/sessions/stats', {}), sessions: {} },
    {
      name: 'session_stats',
      variant: 'last30Days',
      request: get('/api/sessions/stats', range),
      sessions: { from, to: now },
    },
    {
      name: 'session_stats',
      variant: 'role',
      request: get('/api/sessions/stats', { role: 'USER' }),
      sessions: { role: 'USER' },
    },
    {
      name: 'session_stats',
      variant: 'pagePrefix',
      request: get('/api/sessions/stats', { page: '/docs/*' }),
      sessions: { pagePrefix: '/docs/' },
    },
    { name: 'funnel', variant: 'sequential', request: funnel({}) },
    { name: 'funnel', variant: 'orderAny', request: funnel({ order: 'any' }) },
    { name: 'funnel', variant: 'unitSessions', request: funnel({ unit: 'sessions' }) },
    { name: 'retention', variant: 'anyEvent', request: get('/api/retention', retention), retention: {} },
    {
      name: 'retention',
      variant: 'signupToPurchase',
      request: get('/api/retention', { ...retention, startAction: 'signup', returnAction: 'purchase' }),
      retention: { start: 'signup', return: 'purchase' },
    },
  ];
}

/** The session statistics both the table check and the baseline compare (as the API defines them). */
interface SessionFigures {
  sessions: number;
  bounceRate: number;
  meanDurationMs: number;
  pagesPerSession: number;
}

export async function runReportsBenchmark(ctx: BenchContext): Promise<void> {
  const { sizes } = ctx.opts;
  const rows = sizes.reportsRows;
  const users = sizes.reportsUsers;
  const keep = ctx.opts.keepStatsDb;
  const db = new ScratchDatabase(
    ctx.opts.stack.databaseUrl,
    keep ? `tracker_bench_reports_${rows}` : `${ctx.tag}_reports`,
  );
  const failed: string[] = [];
  try {
    const load = await prepareData(
      db,
      {
        label: 'reports',
        version: DATA_VERSION,
        rows,
        params: { users },
        days: DAYS,
        insert: (c) => insertVisits(c, rows, users),
      },
      keep,
    );
    // BENCH_SERVICE_ENV may set another limit (the service's default is 15 s).
    const timeoutMs = Number(ctx.opts.serviceEnv.QUERY_STATEMENT_TIMEOUT_MS ?? STATEMENT_TIMEOUT_MS);
    const data = { ...(await describeData(db.pool, load)), statementTimeoutMs: timeoutMs };
    log(`reports: ${JSON.stringify(data)}`);
    const query = ctx.track(
      await startService(
        'query',
        {
          ...stackEnv(ctx.opts, db.url),
          QUERY_RATE_LIMIT_MAX: '0',
          QUERY_STATEMENT_TIMEOUT_MS: String(timeoutMs),
        },
        ctx.opts,
        `${ctx.tag}-reports`,
      ),
    );
    try {
      // One variant failing (a refused request, a crash) does not keep the others from running.
      for (const v of reportVariants(Date.now())) {
        await measure(ctx, db, query.url, v, data).catch((error: Error) => {
          failed.push(`${v.name} ${v.variant}`);
          log(`ERROR in reports ${v.name} ${v.variant}: ${error.stack ?? error}`);
        });
      }
    } finally {
      await ctx.stopService(query, ['reports']);
    }
  } finally {
    if (keep) await db.close();
    else await db.drop();
  }
  if (failed.length > 0) throw new Error(`reports: ${failed.join(', ')} could not be measured`);
}

/** One variant: its answer checked, its requests timed, the baseline (session_stats, retention), one row. */
async function measure(
  ctx: BenchContext,
  db: ScratchDatabase,
  url: string,
  v: ReportVariant,
  data: Record<string, unknown> & { statementTimeoutMs: number },
): Promise<void> {
  const { sizes } = ctx.opts;
  const timeoutMs = data.statementTimeoutMs;
  // A request may take a little longer than its statements; autocannon wants whole seconds.
  const requestTimeoutS = Math.max(10, Math.ceil((2 * timeoutMs) / 1000));
  const described = {
    variant: v.variant,
    method: v.request.method,
    path: v.request.path,
    ...(v.request.body !== undefined ? { body: JSON.parse(v.request.body) } : {}),
    ...data,
  };
  // The first request is a warm-up whose answer is kept (and shows a refused request at once).
  const t0 = performance.now();
  const first = await fetch(`${url}${v.request.path}`, {
    method: v.request.method,
    ...(v.request.body !== undefined
      ? { body: v.request.body, headers: { 'content-type': 'application/json' } }
      : {}),
    signal: AbortSignal.timeout(requestTimeoutS * 1000),
  }).then(
    async (res) => ({ status: res.status, text: await res.text() }),
    (error: Error) => ({ status: 0, text: error.message }),
  );
  const firstMs = performance.now() - t0;
  if (first.status < 200 || first.status >= 300) {
    // A 500 after the statement time limit (or no answer at all) is the endpoint being too slow for
    // the data: a result (no figure, goal missed), not a failure of the benchmark.
    if (!(first.status === 0 || first.status >= 500) || firstMs < 0.9 * timeoutMs)
      throw new Error(`${v.request.method} ${v.request.path}: ${first.status} ${first.text.slice(0, 500)}`);
    log(
      `reports ${v.name} ${v.variant}: no answer within the statement time limit (${first.status || first.text} after ${Math.round(firstMs)} ms)`,
    );
    ctx.emit(
      makeRow({
        name: v.name,
        value: Number.NaN,
        unit: 'ms',
        better: 'lower',
        goal: REPORT_GOALS[v.name],
        parameters: {
          ...described,
          requests: 0,
          timedOut: true,
          error: `${first.status === 0 ? first.text : `answered ${first.status}`} after ${Math.round(firstMs)} ms (QUERY_STATEMENT_TIMEOUT_MS ${timeoutMs})`,
          ...noBaseline(v.name),
        },
        loadavg: currentLoad(),
      }),
    );
    return;
  }
  const answer = JSON.parse(first.text) as Record<string, unknown>;
  const { run, latency: lat } = await timeRequests({
    url,
    request: v.request,
    warmup: 1,
    budgetS: sizes.reportsBudgetS,
    most: sizes.reportsRequests,
    least: 5,
    timeoutS: requestTimeoutS,
  });
  const problems = loadProblems(run);
  if (run.ok === 0) throw new Error(`${v.name} ${v.variant}: no request succeeded: ${problems}`);
  if (problems) log(`warning: reports ${v.name} ${v.variant}: ${problems}`);

  let baseline: { p50: number; p95: number; reps: number; matches: boolean } | undefined;
  let tableSessions: number | undefined;
  if (v.sessions) {
    const api = answer as unknown as SessionFigures;
    tableSessions = await countStoredSessions(db.pool, v.sessions);
    if (tableSessions !== api.sessions)
      log(
        `warning: reports session_stats ${v.variant}: the API counts ${api.sessions} sessions, the table ${tableSessions}`,
      );
    const choice = v.sessions;
    const { last: raw, times } = await timedReps(sizes.statsBaselineReps, () =>
      sessionFiguresFromRaw(db.pool, choice),
    );
    const matches = sameFigures(api, raw);
    if (!matches)
      log(
        `warning: reports session_stats ${v.variant}: the API ${JSON.stringify(pick(api))} and raw rows ${JSON.stringify(raw)} differ`,
      );
    const s = summarize(times);
    baseline = { p50: s.p50, p95: s.p95, reps: times.length, matches };
  }
  if (v.retention) {
    const named = v.retention;
    const { last: raw, times } = await timedReps(sizes.statsBaselineReps, () => {
      const now = Date.now();
      return retentionTable(db.pool, {
        period: 'week',
        periods: 12,
        tz: 'UTC',
        cohort: 'first',
        mode: 'on',
        to: now,
        now,
        ...(named.start ? { start: { actions: [named.start] } } : {}),
        ...(named.return ? { return: { actions: [named.return] } } : {}),
        raw: true,
      });
    });
    const cells = (rows: { size: number; cells: (number | null)[] }[]) =>
      JSON.stringify(rows.map((r) => [r.size, r.cells]));
    const matches = cells(raw.rows) === cells(answer.rows as { size: number; cells: (number | null)[] }[]);
    if (!matches) log(`warning: reports retention ${v.variant}: the API's cohorts and the raw rows' differ`);
    const s = summarize(times);
    baseline = { p50: s.p50, p95: s.p95, reps: times.length, matches };
  }
  log(
    `reports ${v.name} ${v.variant}: p50 ${lat.p50.toFixed(1)} ms, p95 ${lat.p95.toFixed(1)} ms (${run.ok} requests)` +
      (baseline ? `; raw rows ${baseline.p50.toFixed(0)} ms` : ''),
  );
  ctx.emit(
    makeRow({
      name: v.name,
      value: lat.p95,
      unit: 'ms',
      better: 'lower',
      baseline: baseline?.p95 ?? null,
      latency: lat,
      goal: REPORT_GOALS[v.name],
      parameters: {
        ...described,
        firstMs: Math.round(firstMs),
        requests: run.ok,
        connections: 1,
        meanMs: Math.round(lat.mean * 10) / 10,
        maxMs: lat.max,
        ...(problems ? { problems } : {}),
        answer: summarizeAnswer(v.name, answer),
        ...(baseline
          ? {
              baselineP50: baseline.p50,
              baselineReps: baseline.reps,
              matchesBaseline: baseline.matches,
              ...(v.sessions
                ? {
                    tableSessions,
                    baselineWhat:
                      "the same figures from raw rows per request: packages/db's sessionsSql (the sessions table's own definition) over the range's interactions (from a day before `from`), then count, bounces, mean duration and page views of the sessions chosen, in one statement",
                  }
                : {
                    baselineWhat:
                      "the same table from raw rows: packages/db's retentionTable with `raw: true` (what it does for steps with a page or role), cohort sizes and cells compared",
                  }),
            }
          : noBaseline(v.name)),
      },
      loadavg: currentLoad(),
    }),
  );
}

/** `run` timed `reps` times (at least once: its last answer is what the row is compared with). */
async function timedReps<T>(reps: number, run: () => Promise<T>): Promise<{ last: T; times: number[] }> {
  const times: number[] = [];
  let last: T | undefined;
  for (let i = 0; i < Math.max(1, reps); i++) {
    const t0 = performance.now();
    last = await run();
    times.push(performance.now() - t0);
  }
  return { last: last as T, times };
}

/** What a row without a baseline says about it. */
const noBaseline = (name: ReportName) => ({
  baselineWhat: {
    session_stats: 'not computed: no answer to compare it with',
    funnel: 'none: POST /api/funnels reads raw rows after the entry itself',
    retention: 'not computed: no answer to compare it with',
  }[name],
});

/** The few answer figures worth keeping next to a row (what was computed, at a glance). */
function summarizeAnswer(name: ReportName, a: Record<string, unknown>): Record<string, unknown> {
  if (name === 'session_stats') return { ...pick(a as unknown as SessionFigures) };
  if (name === 'funnel') return { steps: (a.steps as { count: number }[]).map((s) => s.count) };
  const rows = a.rows as { size: number }[];
  return {
    cohorts: rows.length,
    users: rows.reduce((n, r) => n + r.size, 0),
    meanShares: (a.mean as (number | null)[]).slice(0, 4),
  };
}

const pick = (f: SessionFigures): SessionFigures => ({
  sessions: f.sessions,
  bounceRate: f.bounceRate,
  meanDurationMs: f.meanDurationMs,
  pagesPerSession: f.pagesPerSession,
});

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

function sameFigures(a: SessionFigures, b: SessionFigures): boolean {
  return (
    a.sessions === b.sessions &&
    close(a.bounceRate, b.bounceRate) &&
    close(a.meanDurationMs, b.meanDurationMs) &&
    close(a.pagesPerSession, b.pagesPerSession)
  );
}

/** WHERE over a relation with the sessions table's started_at, pages and roles (as the API chooses). */
function chosen(c: SessionChoice): Prisma.Sql {
  const conds: Prisma.Sql[] = [];
  if (c.from !== undefined) conds.push(Prisma.sql`started_at >= ${pgTime(c.from)}::timestamptz`);
  if (c.to !== undefined) conds.push(Prisma.sql`started_at < ${pgTime(c.to)}::timestamptz`);
  const touch: Prisma.Sql[] = [];
  if (c.role !== undefined) touch.push(Prisma.sql`x.role = ${c.role}`);
  if (c.pagePrefix !== undefined) touch.push(Prisma.sql`starts_with(x.page, ${c.pagePrefix})`);
  if (touch.length > 0)
    conds.push(
      Prisma.sql`EXISTS (SELECT 1 FROM unnest(pages, roles) AS x(page, role) WHERE ${Prisma.join(touch, ' AND ')})`,
    );
  return conds.length > 0 ? Prisma.sql`WHERE ${Prisma.join(conds, ' AND ')}` : Prisma.empty;
}

async function countStoredSessions(pool: pg.Pool, c: SessionChoice): Promise<number> {
  const sql = Prisma.sql`SELECT count(*)::int AS n FROM sessions ${chosen(c)}`;
  const { rows } = await pool.query<{ n: number }>(sql.text, sql.values);
  return rows[0]!.n;
}

/**
 * The session figures recomputed from raw rows: sessionsSql over the interactions from a day before
 * `from` (a session starting in range may belong to a chain that began before it, up to the 24 h
 * cap) to a day after `to`, then the sessions chosen as the API chooses them.
 */
async function sessionFiguresFromRaw(pool: pg.Pool, c: SessionChoice): Promise<SessionFigures> {
  const edges: Prisma.Sql[] = [];
  if (c.from !== undefined) edges.push(Prisma.sql`i.occurred_at >= ${pgTime(c.from - DAY_MS)}::timestamptz`);
  if (c.to !== undefined) edges.push(Prisma.sql`i.occurred_at < ${pgTime(c.to + DAY_MS)}::timestamptz`);
  const ev = Prisma.sql`SELECT ${sessionEventColumns('i')} FROM interactions i ${
    edges.length > 0 ? Prisma.sql`WHERE ${Prisma.join(edges, ' AND ')}` : Prisma.empty
  }`;
  const sql = Prisma.sql`
    SELECT count(*)::int AS sessions, (count(*) FILTER (WHERE bounce))::int AS bounces,
           coalesce(sum((extract(epoch FROM ended_at - started_at) * 1000)::bigint), 0)::float8 AS duration_ms,
           coalesce(sum(page_views), 0)::float8 AS page_views
      FROM (${sessionsSql(ev, DEFAULT_SESSION_RULES)}) s ${chosen(c)}`;
  const { rows } = await pool.query<{
    sessions: number;
    bounces: number;
    duration_ms: number;
    page_views: number;
  }>(sql.text, sql.values);
  const r = rows[0]!;
  const n = r.sessions;
  return {
    sessions: n,
    bounceRate: n === 0 ? 0 : r.bounces / n,
    meanDurationMs: n === 0 ? 0 : r.duration_ms / n,
    pagesPerSession: n === 0 ? 0 : r.page_views / n,
  };
}

/** What every row says about the data: sizes, counts and how long the load took. */
async function describeData(pool: pg.Pool, load: LoadReport): Promise<Record<string, unknown>> {
  const { rows } = await pool.query<{ interactions: number; users: number; sessions: number }>(
    `SELECT (SELECT count(*) FROM interactions)::int AS interactions, (SELECT count(*) FROM users)::int AS users,
            (SELECT count(*) FROM sessions)::int AS sessions`,
  );
  const round1 = (s: number | null) => (s === null || !Number.isFinite(s) ? null : Math.round(s * 10) / 10);
  return {
    rows: rows[0]!.interactions,
    users: rows[0]!.users,
    sessionsStored: rows[0]!.sessions,
    days: DAYS,
    load: {
      reused: load.reused,
      loadedAt: load.loadedAt,
      insertS: round1(load.insertS),
      indexesS: round1(load.indexesS),
      rebuildS: round1(load.rebuildS),
      fillSessionsS: round1(load.fillSessionsS),
      analyzeS: round1(load.analyzeS),
      totalS: round1(load.totalS),
    },
  };
}

/**
 * Synthetic visits generated by PostgreSQL itself, `rows` events in all. A visit: one of `users`
 * users (skewed: floor(users · random()²), so heavy users come back every day and light ones a few
 * times over the weeks; roles as userIdSql gives them), a start uniform over the last DAYS days,
 * 1 + an exponential number of events (mean 8 in all), 2 s + an exponential gap (mean 45 s) apart; the
 * first is a page_view, then page_view 50%, click 26%, search 10%, add_to_cart 8%, signup 3%,
 * purchase 3%. A page view goes to one of the seed's pages (power-law popularity); the other events
 * happen on the page last viewed. 30% of visits carry a client session id ('v-' || visit).
 */
async function insertVisits(client: pg.PoolClient, rows: number, users: number): Promise<void> {
  const pages = sitePages().map((p) => p.path);
  // Enough visits for `rows` events at 8 per visit with room to spare; the events past `rows` are cut.
  const visits = Math.ceil(rows / 6) + 10;
  // NOTE: each random() sits in the target list of a subquery of its own level, computed once per
  // row (PostgreSQL does not pull up a subquery whose target list has volatile functions), so the
  // action a row gets is the one the page's CASE sees. In a LATERAL (SELECT random()) without outer
  // references it could be computed once for all rows.
  const { rowCount } = await client.query(
    `WITH visit AS MATERIALIZED (
       SELECT v, u, start, sid, events, sum(events) OVER (ORDER BY v) - events AS before
         FROM (SELECT v, floor($3::int * power(random(), 2))::int AS u,
                      now() - make_interval(days => $4::int)
                        + random() * (make_interval(days => $4::int) - interval '6 hours') AS start,
                      CASE WHEN random() < 0.3 THEN 'v-' || v END AS sid,
                      1 + floor(-ln(1 - random()) * 7.5)::int AS events
                 FROM generate_series(1, $2::int) AS v) x
     ), event AS (
       SELECT v, u, start, sid, n, k, drawn, gap_s,
              CASE WHEN k = 1 THEN 'page_view' WHEN r < 0.50 THEN 'page_view' WHEN r < 0.76 THEN 'click'
                   WHEN r < 0.86 THEN 'search' WHEN r < 0.94 THEN 'add_to_cart' WHEN r < 0.97 THEN 'signup'
                   ELSE 'purchase' END AS action
         FROM (SELECT vi.v, vi.u, vi.start, vi.sid, vi.before + k AS n, k, random() AS r,
                      ($5::text[])[1 + floor(cardinality($5::text[]) * power(random(), 2))::int] AS drawn,
                      CASE WHEN k = 1 THEN 0 ELSE 2 + -ln(1 - random()) * 45 END AS gap_s
                 FROM visit vi CROSS JOIN LATERAL generate_series(1, vi.events) AS k
                WHERE vi.before + k <= $1::int) e
     ), timed AS (
       SELECT u, sid, n, action,
              date_trunc('milliseconds', start + sum(gap_s) OVER w * interval '1 second') AS t,
              substr(max(CASE WHEN action = 'page_view' THEN lpad(k::text, 6, '0') || drawn END) OVER w, 7) AS page
         FROM event
       WINDOW w AS (PARTITION BY v ORDER BY k)
     )
     INSERT INTO interactions (event_id, user_id, role, action, page, occurred_at, received_at, session_id,
                               properties, user_agent, is_bot, kafka_partition, kafka_offset)
     SELECT gen_random_uuid(), ${userIdSql('u')}, ${roleSql('u')}, action, page, t, t + interval '50 milliseconds',
            sid, '{"title": "bench"}'::jsonb, 'Mozilla/5.0 (X11; Linux x86_64) bench', false, n % 12, n / 12
       FROM timed
      ORDER BY t`,
    [rows, visits, users, DAYS, pages],
  );
  if (rowCount !== rows) throw new Error(`reports: generated ${rowCount} events, not ${rows}`);
}
