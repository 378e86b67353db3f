// Per-UTC-day totals of the sessions table (session_days, session_day_pages, session_day_durations;
// migration 20261207120000_session_days), by role: '' for every session, a role for the sessions
// holding an event with it. GET /api/sessions/stats reads whole days from them. Kept from the session
// rows a batch deletes and writes (refreshSessions records them in pg_temp.session_changes, then
// applySessionChanges adds their differences in one upsert), filled from the table (fillSessionDays:
// rebuild, the migration) and compared with a recount from it (sessionDayDifferencesSql: reconcile).
import { Prisma, type PrismaSql } from '../client.js';

/** The sessions columns a change records (with a sign: -1 a row removed or before an update, +1 after). */
const SESSION_CHANGE_COLUMNS =
  'started_at, ended_at, bounce, page_views, entry_page, exit_page, pages, roles' as const;

/**
 * The transaction's recorded changes: a temporary table (one per connection), emptied at commit and
 * by every apply. A row of sign 0 marks the start of a refresh: an apply that does not find it ran on
 * another connection or after a commit (outside a transaction), where the changes are lost.
 */
const CHANGES_TABLE = `CREATE TEMP TABLE IF NOT EXISTS session_changes (
  sign INT NOT NULL, started_at TIMESTAMPTZ(3), ended_at TIMESTAMPTZ(3), bounce BOOLEAN,
  page_views INT, entry_page TEXT, exit_page TEXT, pages TEXT[], roles TEXT[]
) ON COMMIT DELETE ROWS`;

/** The refresh's start mark (see CHANGES_TABLE), as a statement or CTE body. */
export const MARK_CHANGES = Prisma.raw('INSERT INTO pg_temp.session_changes (sign) VALUES (0)');

/** `INSERT INTO pg_temp.session_changes` of the rows `rel` (a CTE name) holds, with `sign`. */
export const recordChanges = (rel: string, sign: 1 | -1) =>
  Prisma.raw(
    `INSERT INTO pg_temp.session_changes (sign, ${SESSION_CHANGE_COLUMNS}) SELECT ${sign}, ${SESSION_CHANGE_COLUMNS} FROM ${rel}`,
  );

/** Creates the transaction's changes table unless this connection has it already. */
export async function prepareSessionChanges(db: PrismaSql): Promise<void> {
  await db.$executeRaw(Prisma.raw(CHANGES_TABLE));
}

/** A duration in milliseconds, as the reports compute it from a session's start and end. */
export const durationMsOf = (alias: string) =>
  `(extract(epoch FROM ${alias}.ended_at - ${alias}.started_at) * 1000)::bigint`;

/**
 * What the sessions `rel` yields (a sign column and SESSION_CHANGE_COLUMNS) add to the three tables,
 * as (kind, day, role, key, a, b, c, d): kind 'day' (key ''): sessions, bounces, duration_ms,
 * page_views; 'page' (key the page): entries, exits, sessions that included it; 'bucket' (key the
 * duration class): sessions. Each session counts under '' and once under each of its roles.
 */
export function dayContributionsSql(rel: string): string {
  return `
  WITH c AS MATERIALIZED (
    SELECT x.sign, (x.started_at AT TIME ZONE 'UTC')::date AS day, k.role, x.bounce, x.page_views,
           ${durationMsOf('x')} AS duration_ms, session_duration_bucket(x.started_at, x.ended_at) AS bucket,
           x.entry_page, x.exit_page, x.pages
      FROM (${rel}) x CROSS JOIN LATERAL (SELECT '' AS role UNION SELECT unnest(x.roles)) k
  )
  SELECT 'day' AS kind, day, role, '' AS key, sum(sign)::bigint AS a, sum(sign * bounce::int)::bigint AS b,
         sum(sign * duration_ms)::bigint AS c, sum(sign * page_views)::bigint AS d
    FROM c GROUP BY day, role
  UNION ALL
  SELECT 'page', day, role, page, sum(entries)::bigint, sum(exits)::bigint, sum(included)::bigint, 0
    FROM (SELECT day, role, entry_page AS page, sign AS entries, 0 AS exits, 0 AS included FROM c
          UNION ALL SELECT day, role, exit_page, 0, sign, 0 FROM c
          UNION ALL SELECT c.day, c.role, p.page, 0, 0, c.sign
                      FROM c CROSS JOIN LATERAL (SELECT DISTINCT unnest(c.pages)) p(page)) y
   GROUP BY day, role, page
  UNION ALL
  SELECT 'bucket', day, role, bucket::text, sum(sign)::bigint, 0, 0, 0 FROM c GROUP BY day, role, bucket`;
}

/** Adds contributions (a relation of dayContributionsSql's shape named `contrib`) to the three tables, in key order. */
const upsertContributions = (contrib: string) => `
  days AS (
    INSERT INTO session_days (day, role, sessions, bounces, duration_ms, page_views)
    SELECT day, role, a, b, c, d FROM ${contrib} WHERE kind = 'day' AND (a, b, c, d) <> (0, 0, 0, 0) ORDER BY day, role
    ON CONFLICT (day, role) DO UPDATE SET sessions = session_days.sessions + EXCLUDED.sessions,
      bounces = session_days.bounces + EXCLUDED.bounces, duration_ms = session_days.duration_ms + EXCLUDED.duration_ms,
      page_views = session_days.page_views + EXCLUDED.page_views
  ), pages AS (
    INSERT INTO session_day_pages (day, role, page, entries, exits, sessions)
    SELECT day, role, key, a, b, c FROM ${contrib} WHERE kind = 'page' AND (a, b, c) <> (0, 0, 0) ORDER BY day, role, key
    ON CONFLICT (day, role, page) DO UPDATE SET entries = session_day_pages.entries + EXCLUDED.entries,
      exits = session_day_pages.exits + EXCLUDED.exits, sessions = session_day_pages.sessions + EXCLUDED.sessions
  ), durations AS (
    INSERT INTO session_day_durations (day, role, bucket, sessions)
    SELECT day, role, key::int, a FROM ${contrib} WHERE kind = 'bucket' AND a <> 0 ORDER BY day, role, key::int
    ON CONFLICT (day, role, bucket) DO UPDATE SET sessions = session_day_durations.sessions + EXCLUDED.sessions
  )`;

/**
 * Adds the differences the transaction's recorded changes make to the per-day tables, in one
 * statement (one lock order for concurrent batches), and empties the record. Rows whose counts reach
 * zero stay (readers skip them; the next fill drops them). Throws when the refresh's start mark is
 * missing: the statements did not share one transaction.
 */
export async function applySessionChanges(db: PrismaSql): Promise<void> {
  const rows = await db.$queryRaw<{ marks: number }[]>(
    Prisma.raw(`
  WITH changes AS (DELETE FROM pg_temp.session_changes RETURNING *),
  contrib AS (${dayContributionsSql('SELECT * FROM changes WHERE sign <> 0')}),
  ${upsertContributions('contrib')}
  SELECT (count(*) FILTER (WHERE sign = 0))::int AS marks FROM changes`),
  );
  if (rows[0]?.marks !== 1)
    throw new Error(
      'the sessions refresh must run inside one transaction (storeInteractions in $transaction): its recorded changes were lost',
    );
}

const DAY_TABLES = 'session_days, session_day_pages, session_day_durations';

/** Empties the per-day tables and fills them from the sessions table; returns the session_days rows. */
export async function fillSessionDays(client: {
  query: (text: string) => Promise<{ rows: { n: number }[] }>;
}): Promise<number> {
  await client.query(`TRUNCATE ${DAY_TABLES}`);
  const { rows } = await client.query(`
  WITH contrib AS MATERIALIZED (${dayContributionsSql(`SELECT 1 AS sign, ${SESSION_CHANGE_COLUMNS} FROM sessions`)}),
  ${upsertContributions('contrib')}
  SELECT count(*)::int AS n FROM contrib WHERE kind = 'day'`);
  return rows[0]?.n ?? 0;
}

/**
 * The per-day rows that differ from a recount of the sessions table (zero rows count as absent), as
 * (kind, day, role, key, stored, expected, totals: {kind: differing rows}): reconcile's query.
 */
export function sessionDayDifferencesSql(limit: number | null): string {
  return `
  WITH expected AS (${dayContributionsSql(`SELECT 1 AS sign, ${SESSION_CHANGE_COLUMNS} FROM sessions`)}),
  stored AS (
    SELECT 'day' AS kind, day, role, '' AS key, sessions AS a, bounces AS b, duration_ms AS c, page_views AS d FROM session_days
    UNION ALL SELECT 'page', day, role, page, entries, exits, sessions, 0 FROM session_day_pages
    UNION ALL SELECT 'bucket', day, role, bucket::text, sessions, 0, 0, 0 FROM session_day_durations
  ), s AS (SELECT * FROM stored WHERE (a, b, c, d) <> (0, 0, 0, 0)),
  e AS (SELECT * FROM expected WHERE (a, b, c, d) <> (0, 0, 0, 0)),
  diff AS MATERIALIZED (
    SELECT kind, day::text AS day, role, key,
           CASE WHEN s.kind IS NULL THEN NULL ELSE json_build_array(s.a, s.b, s.c, s.d)::text END AS stored,
           CASE WHEN e.kind IS NULL THEN NULL ELSE json_build_array(e.a, e.b, e.c, e.d)::text END AS expected
      FROM s FULL JOIN e USING (kind, day, role, key)
     WHERE (s.a, s.b, s.c, s.d) IS DISTINCT FROM (e.a, e.b, e.c, e.d)
  )
  SELECT d.*, (SELECT json_object_agg(kind, n) FROM (SELECT kind, count(*) AS n FROM diff GROUP BY kind) k) AS totals
    FROM diff d ORDER BY kind, day, role, key${limit === null ? '' : ` LIMIT ${Math.trunc(limit)}`}`;
}
