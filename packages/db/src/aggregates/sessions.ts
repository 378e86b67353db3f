// The sessions table: kept by the processor in each batch's transaction (refreshSessions), filled
// from all raw rows (fillSessions: rebuild, the migration that adds it) and compared with that
// recount (sessionDifferencesSql: reconcile). Definition: reports/sessions.ts.
import { Prisma, type PrismaSql } from '../client.js';
import { numberArray, textArray } from '../pg-array.js';
import { SESSION_COLUMNS, type SessionRules, sessionEventColumns, sessionsSql } from '../reports/sessions.js';

const COLUMNS = Prisma.raw(SESSION_COLUMNS.join(', '));
const fromMs = (col: string) => Prisma.raw(`TIMESTAMPTZ 'epoch' + ${col} * INTERVAL '1 millisecond'`);
const toMs = (expr: string) => Prisma.raw(`(extract(epoch FROM ${expr}) * 1000)::bigint`);

/** A batch's events of one user and one client session id (null: none), as the time they span. */
interface Span {
  userId: string;
  sessionId: string | null;
  lo: number;
  hi: number;
}

function spansOf(rows: readonly { userId: string; sessionId: string | null; occurredAt: number }[]): Span[] {
  const spans = new Map<string, Span>();
  for (const r of rows) {
    const key = `${r.userId}\u0000${r.sessionId ?? ''}\u0000${r.sessionId === null ? 0 : 1}`;
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
  const gap = Prisma.sql`${`${rules.gapMs} milliseconds`}::interval`;
  return Prisma.sql`
  WITH r AS (
    SELECT user_id, sid, ${fromMs('lo_ms')} AS lo, ${fromMs('hi_ms')} AS hi
      FROM unnest(${c[0]}::text[], ${c[1]}::text[], ${c[2]}::bigint[], ${c[3]}::bigint[]) AS t(user_id, sid, lo_ms, hi_ms)
  ), hit AS (
    SELECT DISTINCT s.user_id, s.chain_start FROM r JOIN sessions s
        ON s.user_id = r.user_id AND r.sid IS NULL AND s.session_id IS NULL
       AND s.ended_at > r.lo - ${gap} AND s.started_at < r.hi + ${gap}
  ), old AS (
    DELETE FROM sessions s USING (
      SELECT s.user_id, s.session_key FROM hit h
        JOIN sessions s ON s.user_id = h.user_id AND s.session_id IS NULL AND s.chain_start = h.chain_start
      UNION
      SELECT user_id, 's:' || sid FROM r WHERE sid IS NOT NULL
    ) d
    WHERE s.user_id = d.user_id AND s.session_key = d.session_key
    RETURNING s.user_id, s.session_id, coalesce(s.chain_start, s.started_at) AS lo, s.ended_at AS hi
  )
  SELECT r.user_id, r.sid, ${toMs('least(r.lo, min(o.lo))')} AS lo_ms, ${toMs('greatest(r.hi, max(o.hi))')} AS hi_ms
    FROM r LEFT JOIN old o ON o.user_id = r.user_id AND o.session_id IS NOT DISTINCT FROM r.sid
   GROUP BY r.user_id, r.sid, r.lo, r.hi`;
};

/** Inserts the sessions of the events in the spans (inclusive), recomputed from raw rows. */
const insertFresh = (c: string[], rules: SessionRules) => Prisma.sql`
  INSERT INTO sessions (${COLUMNS})
  SELECT ${COLUMNS} FROM (${sessionsSql(
    Prisma.sql`SELECT ${sessionEventColumns('i')}
      FROM unnest(${c[0]}::text[], ${c[1]}::text[], ${c[2]}::bigint[], ${c[3]}::bigint[]) AS w(user_id, sid, lo_ms, hi_ms)
      JOIN interactions i ON i.user_id = w.user_id
       AND i.occurred_at >= ${fromMs('w.lo_ms')} AND i.occurred_at <= ${fromMs('w.hi_ms')}
       AND (CASE WHEN w.sid IS NULL THEN i.session_id IS NULL ELSE i.session_id = w.sid END)`,
    rules,
  )}) x ORDER BY user_id, session_key`;

/**
 * Brings the sessions of the rows' users up to date with their stored raw rows: call in the batch's
 * transaction after storeInteractions, with the users locked (lockUsers). Idempotent: rows already
 * stored before (redeliveries) recompute the same sessions.
 */
export async function refreshSessions(
  db: PrismaSql,
  rows: readonly { userId: string; sessionId: string | null; occurredAt: number }[],
  rules: SessionRules,
): Promise<void> {
  if (rows.length === 0) return;
  const spans = await db.$queryRaw<{ user_id: string; sid: string | null; lo_ms: bigint; hi_ms: bigint }[]>(
    takeStale(spanParams(spansOf(rows)), rules),
  );
  const widened = spans.map((s) => ({
    userId: s.user_id,
    sessionId: s.sid,
    lo: Number(s.lo_ms),
    hi: Number(s.hi_ms),
  }));
  await db.$executeRaw(insertFresh(spanParams(widened), rules));
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
