// The sessions table: kept by the processor in each batch's transaction (refreshSessions), filled
// from all raw rows (fillSessions: rebuild, the migration that adds it) and compared with that
// recount (sessionDifferencesSql: reconcile). Definition: reports/sessions.ts.
// NOTE: a batch's lookups are LATERAL subqueries with OFFSET 0, so each stays an index lookup per
// user, and the stale sessions are deleted by their row ids: as joins, the planner hashed the whole
// sessions (or interactions) table instead.
import { Prisma, type PrismaSql } from '../client.js';
import { numberArray, textArray } from '../pg-array.js';
import {
  intervalOf,
  SESSION_COLUMNS,
  type SessionRules,
  sessionEventColumns,
  sessionsSql,
} from '../reports/sessions.js';
import { applySessionChanges, MARK_CHANGES, prepareSessionChanges, recordChanges } from './session-days.js';

const COLUMNS = Prisma.raw(SESSION_COLUMNS.join(', '));
/** What appendToLatest reads of a user's latest session: its key, what the append extends, its per-day contribution. */
const LATEST_COLUMNS = Prisma.raw(
  's.user_id, s.session_key, s.started_at, s.ended_at, s.pages, s.roles, s.bounce, s.page_views, s.entry_page, s.exit_page',
);
const fromMs = (col: string) => Prisma.raw(`TIMESTAMPTZ 'epoch' + ${col} * INTERVAL '1 millisecond'`);
const toMs = (expr: string) => Prisma.raw(`(extract(epoch FROM ${expr}) * 1000)::bigint`);

/** A batch's events of one user and one client session id (null: none), as the time they span. */
interface Span {
  userId: string;
  sessionId: string | null;
  lo: number;
  hi: number;
}

const spanKey = (userId: string, sessionId: string | null) =>
  sessionId === null ? `${userId}\u0000` : `${userId}\u0000\u0000${sessionId}`;

function spansOf(rows: readonly { userId: string; sessionId: string | null; occurredAt: number }[]): Span[] {
  const spans = new Map<string, Span>();
  for (const r of rows) {
    const key = spanKey(r.userId, r.sessionId);
    const s = spans.get(key);
    if (s) {
      s.lo = Math.min(s.lo, r.occurredAt);
      s.hi = Math.max(s.hi, r.occurredAt);
    } else spans.set(key, { userId: r.userId, sessionId: r.sessionId, lo: r.occurredAt, hi: r.occurredAt });
  }
  return [...spans.values()];
}

const spanParams = (spans: Span[]) => [
  textArray(spans.map((s) => s.userId)),
  textArray(spans.map((s) => s.sessionId)),
  numberArray(spans.map((s) => s.lo)),
  numberArray(spans.map((s) => s.hi)),
];

/**
 * Deletes the stored sessions a batch's events may change and returns the spans to recompute, widened
 * to whole chains: for events without a session id, every chain of the user that has a session within
 * the gap of the events' span (a chain over the cap holds several sessions, all of them); for a client
 * session id, the stored session's own span. An event can only join, merge or re-cut the chains it
 * touches, so what lies outside these spans is unchanged.
 */
const takeStale = (c: string[], rules: SessionRules) => {
  const gap = intervalOf(rules.gapMs);
  return Prisma.sql`
  WITH r AS (
    SELECT user_id, sid, ${fromMs('lo_ms')} AS lo, ${fromMs('hi_ms')} AS hi
      FROM unnest(${c[0]}::text[], ${c[1]}::text[], ${c[2]}::bigint[], ${c[3]}::bigint[]) AS t(user_id, sid, lo_ms, hi_ms)
  ), doomed AS MATERIALIZED (
    SELECT k.tid FROM r CROSS JOIN LATERAL (
      SELECT s.ctid AS tid FROM sessions s
       WHERE r.sid IS NULL AND s.user_id = r.user_id AND s.session_id IS NULL
         AND s.chain_start IN (SELECT h.chain_start FROM sessions h
                                WHERE h.user_id = r.user_id AND h.session_id IS NULL
                                  AND h.ended_at > r.lo - ${gap} AND h.started_at < r.hi + ${gap}) OFFSET 0
    ) k
    UNION
    SELECT k.tid FROM r CROSS JOIN LATERAL (
      SELECT s.ctid AS tid FROM sessions s
       WHERE r.sid IS NOT NULL AND s.user_id = r.user_id AND s.session_key = 's:' || r.sid OFFSET 0
    ) k
  ), old AS (
    DELETE FROM sessions s WHERE s.ctid = ANY (ARRAY(SELECT tid FROM doomed))
    RETURNING s.*, coalesce(s.chain_start, s.started_at) AS lo, s.ended_at AS hi
  ), recorded AS (${recordChanges('old', -1)}
  )
  SELECT r.user_id, r.sid, ${toMs('least(r.lo, min(o.lo))')} AS lo_ms, ${toMs('greatest(r.hi, max(o.hi))')} AS hi_ms
    FROM r LEFT JOIN old o ON o.user_id = r.user_id AND o.session_id IS NOT DISTINCT FROM r.sid
   GROUP BY r.user_id, r.sid, r.lo, r.hi`;
};

/** Inserts the sessions of the events in the spans (inclusive), recomputed from raw rows. */
const insertFresh = (c: string[], rules: SessionRules) => Prisma.sql`
  WITH fresh AS (
  INSERT INTO sessions (${COLUMNS})
  SELECT ${COLUMNS} FROM (${sessionsSql(
    Prisma.sql`SELECT i.* FROM unnest(${c[0]}::text[], ${c[1]}::text[], ${c[2]}::bigint[], ${c[3]}::bigint[]) AS w(user_id, sid, lo_ms, hi_ms)
      CROSS JOIN LATERAL (
        SELECT ${sessionEventColumns('i')} FROM interactions i
         WHERE i.user_id = w.user_id AND i.occurred_at >= ${fromMs('w.lo_ms')} AND i.occurred_at <= ${fromMs('w.hi_ms')}
           AND (CASE WHEN w.sid IS NULL THEN i.session_id IS NULL ELSE i.session_id = w.sid END) OFFSET 0
      ) i`,
    rules,
  )}) x ORDER BY user_id, session_key
  RETURNING *
  ) ${recordChanges('fresh', 1)}`;

/**
 * The common case, without recomputing: a user's batch events (without a session id, or with one)
 * all come after the latest such session (the user's latest inferred one; the one of that id), and
 * the stored events after it (the batch's, as stored) continue it: for inferred sessions each less
 * than the gap after the previous and all before its start + the cap; a client's id always does.
 * That session is extended in place (end, counts, exit page, its (page, role) pairs). Returns the
 * spans so handled; the others go through takeStale and insertFresh. Also marks the refresh's start
 * in the changes it records (MARK_CHANGES).
 */
const appendToLatest = (c: string[], rules: SessionRules) => {
  const gap = intervalOf(rules.gapMs);
  const cap = intervalOf(rules.maxMs);
  return Prisma.sql`
  WITH marked AS (${MARK_CHANGES}
  ), r AS (
    SELECT user_id, sid, ${fromMs('lo_ms')} AS lo
      FROM unnest(${c[0]}::text[], ${c[1]}::text[], ${c[2]}::bigint[]) AS t(user_id, sid, lo_ms)
  ), latest AS MATERIALIZED (
    SELECT r.sid, l.* FROM r CROSS JOIN LATERAL (
      SELECT ${LATEST_COLUMNS} FROM sessions s
       WHERE r.sid IS NULL AND s.user_id = r.user_id AND s.session_id IS NULL ORDER BY s.ended_at DESC LIMIT 1
    ) l WHERE r.lo > l.ended_at
    UNION ALL
    SELECT r.sid, l.* FROM r CROSS JOIN LATERAL (
      SELECT ${LATEST_COLUMNS} FROM sessions s
       WHERE r.sid IS NOT NULL AND s.user_id = r.user_id AND s.session_key = 's:' || r.sid OFFSET 0
    ) l WHERE r.lo > l.ended_at
  ), tail AS MATERIALIZED (
    SELECT l.user_id, l.session_key, i.occurred_at, i.event_id, i.action, i.page, i.role,
           l.sid IS NOT NULL AS client, l.started_at,
           coalesce(i.occurred_at - lag(i.occurred_at) OVER w, i.occurred_at - l.ended_at) AS gap
      FROM latest l CROSS JOIN LATERAL (
        SELECT i.occurred_at, i.event_id, i.action, i.page, i.role::text AS role FROM interactions i
         WHERE i.user_id = l.user_id AND i.occurred_at > l.ended_at
           AND (CASE WHEN l.sid IS NULL THEN i.session_id IS NULL ELSE i.session_id = l.sid END) OFFSET 0
      ) i
    WINDOW w AS (PARTITION BY l.user_id, l.session_key ORDER BY i.occurred_at, i.event_id)
  ), ok AS (
    SELECT user_id, session_key FROM tail GROUP BY user_id, session_key, client, started_at
    HAVING client OR (bool_and(gap < ${gap}) AND max(occurred_at) < started_at + ${cap})
  ), added AS (
    SELECT t.user_id, t.session_key, max(t.occurred_at) AS ended_at, count(*)::int AS events,
           (count(*) FILTER (WHERE t.action = 'page_view'))::int AS page_views,
           (array_agg(t.page ORDER BY t.occurred_at DESC, t.event_id DESC))[1] AS exit_page
      FROM tail t JOIN ok USING (user_id, session_key) GROUP BY t.user_id, t.session_key
  ), pairs AS (
    SELECT DISTINCT x.user_id, x.session_key, x.page, x.role FROM (
      SELECT l.user_id, l.session_key, p.page, p.role
        FROM ok JOIN latest l USING (user_id, session_key)
       CROSS JOIN LATERAL unnest(l.pages, l.roles) AS p(page, role)
      UNION ALL
      SELECT t.user_id, t.session_key, t.page, t.role
        FROM tail t JOIN ok USING (user_id, session_key)
    ) x
  ), paired AS (
    SELECT user_id, session_key, array_agg(page ORDER BY page, role) AS pages,
           array_agg(role ORDER BY page, role) AS roles
      FROM pairs GROUP BY user_id, session_key
  ), extended AS (
    UPDATE sessions s
       SET ended_at = a.ended_at, events = s.events + a.events, page_views = s.page_views + a.page_views,
           exit_page = a.exit_page, bounce = false, pages = p.pages, roles = p.roles
      FROM added a JOIN paired p USING (user_id, session_key)
     WHERE s.user_id = a.user_id AND s.session_key = a.session_key
    RETURNING s.*
  ), before AS (
    SELECT l.* FROM latest l JOIN extended e USING (user_id, session_key)
  ), recorded_before AS (${recordChanges('before', -1)}
  ), recorded_after AS (${recordChanges('extended', 1)}
  )
  SELECT user_id, session_id AS sid FROM extended`;
};

/**
 * Brings the sessions of the rows' users up to date with their stored raw rows: call in the batch's
 * transaction after storeInteractions, with the users locked (lockUsers). Idempotent: rows already
 * stored before (redeliveries) recompute the same sessions.
 */
export async function refreshSessions(
  db: PrismaSql,
  rows: readonly { userId: string; sessionId: string | null; occurredAt: number }[],
  rules: SessionRules,
): Promise<SessionRefresh> {
  if (rows.length === 0) return { appended: 0, recomputed: 0 };
  await prepareSessionChanges(db);
  const all = spansOf(rows);
  const done = await db.$queryRaw<{ user_id: string; sid: string | null }[]>(
    appendToLatest(spanParams(all), rules),
  );
  const appended = new Set(done.map((d) => spanKey(d.user_id, d.sid)));
  const rest = all.filter((s) => !appended.has(spanKey(s.userId, s.sessionId)));
  const recomputed = rest.length === 0 ? 0 : await recompute(db, rest, rules);
  await applySessionChanges(db);
  return { appended: appended.size, recomputed };
}

/** takeStale then insertFresh for the spans the append left; returns the spans recomputed. */
async function recompute(db: PrismaSql, rest: Span[], rules: SessionRules): Promise<number> {
  const spans = await db.$queryRaw<{ user_id: string; sid: string | null; lo_ms: bigint; hi_ms: bigint }[]>(
    takeStale(spanParams(rest), rules),
  );
  const widened = spans.map((s) => ({
    userId: s.user_id,
    sessionId: s.sid,
    lo: Number(s.lo_ms),
    hi: Number(s.hi_ms),
  }));
  await db.$executeRaw(insertFresh(spanParams(widened), rules));
  return widened.length;
}

/** What a refresh did: sessions extended in place, and spans (user, client session id) recomputed. */
export interface SessionRefresh {
  appended: number;
  recomputed: number;
}

/** Every session recomputed from all raw rows (rebuild, reconcile, the migration's fill). */
export const allSessionsSql = (rules: SessionRules) =>
  sessionsSql(Prisma.sql`SELECT ${sessionEventColumns('i')} FROM interactions i`, rules);

/** Empties the sessions table and fills it from all raw rows; returns the sessions stored. */
export async function fillSessions(
  client: { query: (text: string, values?: unknown[]) => Promise<{ rowCount: number | null }> },
  rules: SessionRules,
): Promise<number> {
  const sql = allSessionsSql(rules);
  await client.query('TRUNCATE sessions');
  const res = await client.query(
    `INSERT INTO sessions (${SESSION_COLUMNS.join(', ')}) SELECT * FROM (${sql.text}) x ORDER BY user_id, session_key`,
    sql.values,
  );
  return res.rowCount ?? 0;
}

/**
 * The sessions that differ between the table and the recount (a row in one only, or any column
 * unequal), as (user_id, session_key, in_stored, in_expected, total): reconcile's query.
 */
export function sessionDifferencesSql(rules: SessionRules, limit: number | null): Prisma.Sql {
  const cols = SESSION_COLUMNS.filter((c) => c !== 'user_id' && c !== 'session_key');
  return Prisma.sql`
    WITH e AS (${allSessionsSql(rules)})
    SELECT user_id, session_key, a.user_id IS NOT NULL AS in_stored, e.user_id IS NOT NULL AS in_expected,
           count(*) OVER ()::bigint AS total
      FROM sessions a FULL JOIN e USING (user_id, session_key)
     WHERE ${Prisma.raw(cols.map((c) => `a.${c} IS DISTINCT FROM e.${c}`).join(' OR '))}
     ORDER BY user_id, session_key
     ${limit === null ? Prisma.empty : Prisma.sql`LIMIT ${limit}`}`;
}
