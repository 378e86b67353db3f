/**
 * Scratch databases of generated raw rows for the read benchmarks (stats_query, reports). Loaded the
 * way a bulk import is: the indexes of `interactions` dropped, the rows inserted in time order (as the
 * processor stores live traffic), the ids copied into interaction_ids, the indexes built again, then
 * packages/db's rebuildAggregates() (aggregates, users, sessions) and VACUUM ANALYZE. With
 * BENCH_KEEP_STATS_DB=1 a database is kept and reused for a day.
 */
import { migrate, type pg, rebuildAggregates } from '@tracker/db';
import { log, type ScratchDatabase, sleep } from './bench-stack.js';

/** What to generate, and how to recognise a kept database that already holds it. */
export interface DataSpec {
  /** The benchmark, for log lines. */
  label: string;
  /** Bump when the generated data changes, so a kept database is loaded again. */
  version: number;
  rows: number;
  /** Other sizes the data was generated with: a kept database is reused only when they are equal. */
  params?: Record<string, number>;
  /** Days of history ending now: the weekly raw-row partitions to create. */
  days: number;
  /** Inserts the rows (interactions in time order, anything else) while the indexes are dropped. */
  insert: (client: pg.PoolClient) => Promise<void>;
}

/** How long a load took, step by step (seconds), and what rebuildAggregates() counted. */
export interface LoadReport {
  loadedAt: string;
  /** Whether this run found the data in a kept database (the figures are those of its load). */
  reused: boolean;
  insertS: number;
  indexesS: number;
  /** rebuildAggregates() as a whole: aggregates, users and the sessions table. */
  rebuildS: number;
  /** fillSessions' INSERT alone, inside the rebuild (pg_stat_activity); null when not seen. */
  fillSessionsS: number | null;
  analyzeS: number;
  totalS: number;
  /** Rows per table from rebuildAggregates() (users, sessions, agg_*). */
  counts: Record<string, number>;
}

/** The generated users: user `u` is 'admin-u' (u % 50 = 0: 2%), 'user-u' (~54%) or 'anon-u'. */
export const userIdSql = (u: string) =>
  `CASE WHEN ${u} % 50 = 0 THEN 'admin-' || ${u} WHEN ${u} % 100 < 56 THEN 'user-' || ${u} ELSE 'anon-' || ${u} END`;

/** The role of userIdSql's user `u`: ADMIN, USER or GUEST. */
export const roleSql = (u: string) =>
  `(CASE WHEN ${u} % 50 = 0 THEN 'ADMIN' WHEN ${u} % 100 < 56 THEN 'USER' ELSE 'GUEST' END)::"Role"`;

// NOTE: the table keeps the name it had when only stats_query used it, so that databases kept
// before still match; columns read through to_jsonb, so older markers without `params`/`load` do.
const MARKER = 'bench_stats_marker';

/** Loads the spec's data into `db` (or reuses a kept database that holds it); returns how long that took. */
export async function prepareData(db: ScratchDatabase, spec: DataSpec, keep: boolean): Promise<LoadReport> {
  if (keep && (await db.exists())) {
    const kept = await readMarker(db, spec);
    if (kept) {
      // The schema may have moved on since (new migrations): the raw rows stay valid, the aggregates
      // are rebuilt from them.
      const { applied } = await migrate(db.url);
      if (applied.length > 0) {
        log(`${spec.label}: ${db.name} migrated (${applied.join(', ')}); rebuilding aggregates`);
        const again = await rebuild(db.pool, spec.label);
        Object.assign(kept, again);
        await db.pool.query(`ALTER TABLE ${MARKER} ADD COLUMN IF NOT EXISTS load jsonb`);
        await db.pool.query(`UPDATE ${MARKER} SET load = $1::jsonb`, [JSON.stringify(kept)]);
      }
      log(`${spec.label}: reusing ${db.name} (${spec.rows} interactions, loaded ${kept.loadedAt})`);
      return { ...kept, reused: true };
    }
    await db.drop();
  }
  await db.create();
  const t0 = performance.now();
  const secs = () => (performance.now() - t0) / 1000;
  log(`${spec.label}: loading ${spec.rows} interactions into ${db.name}`);
  const client = await db.pool.connect();
  let insertS: number;
  let indexesS: number;
  try {
    await client.query("SET maintenance_work_mem = '512MB'");
    await client.query("SET work_mem = '256MB'");
    await client.query('SET synchronous_commit = off');
    const { rows: indexes } = await client.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename = 'interactions' AND indexname <> 'interactions_pkey'`,
    );
    for (const i of indexes) await client.query(`DROP INDEX "${i.indexname}"`);
    await client.query('ALTER TABLE interactions DROP CONSTRAINT interactions_pkey');
    // Every week's raw-row partition of the span (one instant per day is enough).
    await client.query(
      `SELECT ensure_interaction_partitions(ARRAY(SELECT generate_series(
         now() - make_interval(days => $1::int + 1), now(), interval '1 day')))`,
      [spec.days],
    );
    await spec.insert(client);
    insertS = secs();
    log(`${spec.label}: rows inserted (${insertS.toFixed(0)} s); building indexes`);
    await client.query('ALTER TABLE interaction_ids DROP CONSTRAINT interaction_ids_pkey');
    await client.query(
      'INSERT INTO interaction_ids (event_id, occurred_at) SELECT event_id, occurred_at FROM interactions',
    );
    await client.query(
      'ALTER TABLE interaction_ids ADD CONSTRAINT interaction_ids_pkey PRIMARY KEY (event_id)',
    );
    await client.query(
      'ALTER TABLE interactions ADD CONSTRAINT interactions_pkey PRIMARY KEY (occurred_at, event_id)',
    );
    // pg_indexes shows a partitioned table's index as ON ONLY (the parent alone): built here for all.
    for (const i of indexes) await client.query(i.indexdef.replace(' ON ONLY ', ' ON '));
    indexesS = secs() - insertS;
    log(`${spec.label}: indexes built (${indexesS.toFixed(0)} s); rebuilding aggregates`);
  } finally {
    client.release();
  }
  const built = await rebuild(db.pool, spec.label);
  const report: LoadReport = {
    loadedAt: new Date().toISOString(),
    reused: false,
    insertS,
    indexesS,
    ...built,
    totalS: secs(),
  };
  await db.pool.query(
    `CREATE TABLE IF NOT EXISTS ${MARKER} (version int NOT NULL, rows bigint NOT NULL,
       loaded_at timestamptz NOT NULL DEFAULT now(), params jsonb NOT NULL DEFAULT '{}', load jsonb)`,
  );
  await db.pool.query(
    `INSERT INTO ${MARKER} (version, rows, params, load) VALUES ($1, $2, $3::jsonb, $4::jsonb)`,
    [spec.version, spec.rows, JSON.stringify(spec.params ?? {}), JSON.stringify(report)],
  );
  log(`${spec.label}: data ready in ${report.totalS.toFixed(0)} s`);
  return report;
}

/**
 * The kept database's load report when it holds this spec's data, loaded less than a day ago (the
 * data covers the days before its load, the benchmarks' ranges are relative to now); else undefined.
 */
async function readMarker(db: ScratchDatabase, spec: DataSpec): Promise<LoadReport | undefined> {
  const marker = await db.pool
    .query<{ m: Record<string, unknown>; fresh: boolean }>(
      `SELECT to_jsonb(m) AS m, m.loaded_at > now() - interval '1 day' AS fresh FROM ${MARKER} m`,
    )
    .then((r) => r.rows[0])
    .catch(() => undefined);
  if (!marker?.fresh) return undefined;
  const { m } = marker;
  const sameParams = JSON.stringify(m.params ?? {}) === JSON.stringify(spec.params ?? {});
  if (m.version !== spec.version || Number(m.rows) !== spec.rows || !sameParams) return undefined;
  const load = (m.load ?? {}) as Partial<LoadReport>;
  return {
    loadedAt: String(m.loaded_at),
    reused: true,
    insertS: Number.NaN,
    indexesS: Number.NaN,
    rebuildS: Number.NaN,
    fillSessionsS: null,
    analyzeS: Number.NaN,
    totalS: Number.NaN,
    counts: {},
    ...load,
  };
}

/** rebuildAggregates() then VACUUM ANALYZE, timed, with fillSessions' share of the rebuild. */
async function rebuild(
  pool: pg.Pool,
  label: string,
): Promise<Pick<LoadReport, 'rebuildS' | 'fillSessionsS' | 'analyzeS' | 'counts'>> {
  const t0 = performance.now();
  const { result: counts, ms } = await timeStatement(pool, 'INSERT INTO sessions', () =>
    rebuildAggregates(pool),
  );
  const rebuildS = (performance.now() - t0) / 1000;
  const fillSessionsS = ms === null ? null : ms / 1000;
  log(
    `${label}: aggregates rebuilt in ${rebuildS.toFixed(0)} s (fillSessions ${fillSessionsS === null ? 'not seen' : `${fillSessionsS.toFixed(1)} s`}): ${JSON.stringify(counts)}; analyzing`,
  );
  const t1 = performance.now();
  await pool.query('VACUUM ANALYZE');
  return { rebuildS, fillSessionsS, analyzeS: (performance.now() - t1) / 1000, counts };
}

/**
 * Runs `work` while watching pg_stat_activity (every 200 ms) for a statement of this database whose
 * text starts with `prefix`: how long it ran, in ms, from its query_start to the query_start of the
 * backend's next statement (or the moment it went idle). Null when never seen (shorter than a poll).
 * For timing one statement inside a function of packages/db without changing it.
 */
export async function timeStatement<T>(
  pool: pg.Pool,
  prefix: string,
  work: () => Promise<T>,
): Promise<{ result: T; ms: number | null }> {
  let seen: { pid: number; start: number } | undefined;
  let end: number | undefined;
  let done = false;
  const watch = async () => {
    while (!done && end === undefined) {
      const { rows } = await pool.query<{
        pid: number;
        query_start: Date;
        state: string;
        state_change: Date;
        head: string;
      }>(
        `SELECT pid, query_start, state, state_change, left(query, $1::int) AS head FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND query_start IS NOT NULL`,
        [prefix.length],
      );
      if (seen === undefined) {
        const r = rows.find((x) => x.state === 'active' && x.head === prefix);
        if (r) seen = { pid: r.pid, start: r.query_start.getTime() };
      } else {
        const r = rows.find((x) => x.pid === seen!.pid);
        if (r === undefined) end = Date.now();
        else if (r.query_start.getTime() !== seen.start) end = r.query_start.getTime();
        else if (r.state !== 'active') end = r.state_change.getTime();
      }
      await sleep(200);
    }
  };
  const watcher = watch().catch((error: Error) =>
    log(`warning: watching pg_stat_activity: ${error.message}`),
  );
  let result: T;
  try {
    result = await work();
  } finally {
    done = true;
    await watcher;
  }
  // Seen running but not its end: it ended at most when the work did.
  const ms = seen === undefined ? null : (end ?? Date.now()) - seen.start;
  return { result, ms };
}
