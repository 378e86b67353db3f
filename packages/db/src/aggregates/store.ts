// The processor's write path: raw rows stored exactly once and every aggregate updated with them.

import { Prisma, type PrismaSql } from '../client.js';
import { booleanArray, numberArray, textArray } from '../pg-array.js';
import { DEFAULT_SESSION_RULES, type SessionRules } from '../reports/sessions.js';
import { ensureInteractionPartitions } from '../retention.js';
import { AGGREGATES, type AggregateDef, withPrefixes } from './catalog.js';
import type { IdentifyRow, InteractionRow } from './rows.js';
import { refreshSessions, type SessionRefresh } from './sessions.js';

/** A row's role, or the user's stored role (GUEST for a new user) where `role_unset`. */
const resolvedRole = (alias: string) =>
  `CASE WHEN ${alias}.role_unset
        THEN coalesce((SELECT k.role FROM users k WHERE k.user_id = ${alias}.user_id), 'GUEST'::"Role")
        ELSE ${alias}.role::"Role" END`;

export interface StoreResult {
  /** Rows actually inserted (the rest were already stored: redeliveries). */
  inserted: number;
  /** Newest occurred_at among the inserted rows. */
  newest: Date | null;
  /** storeInteractions: how the sessions table was brought up to date. */
  sessions?: SessionRefresh;
}

const upsertAggregate = (def: AggregateDef) =>
  `INSERT INTO ${def.table} (${def.keys.join(', ')}, ${def.value})
   ${def.fromPrefixes ? def.fromPrefixes('fresh_prefixes') : def.fromRows!('fresh')} ORDER BY ${def.keys.map((_, i) => i + 1).join(', ')}
   ON CONFLICT (${def.keys.join(', ')}) DO UPDATE SET ${def.value} = ${
     def.merge ?? `${def.table}.${def.value} + EXCLUDED.${def.value}`
   }${def.returnsCounts ? ` RETURNING ${def.keys.join(', ')}, ${def.value}` : ''}`;

// How an existing user absorbs newer facts: seen range widened, role from the latest event (ties:
// the later role in enum order), so the result does not depend on the order batches arrive in.
const MERGE_USER_SEEN = `
      first_seen = LEAST(users.first_seen, EXCLUDED.first_seen),
      last_seen = GREATEST(users.last_seen, EXCLUDED.last_seen),
      role = CASE WHEN (EXCLUDED.role_at, EXCLUDED.role) > (users.role_at, users.role)
                  THEN EXCLUDED.role ELSE users.role END,
      role_at = GREATEST(users.role_at, EXCLUDED.role_at)`;

// Population deltas: a user counts once under ('', current role) and once under (R, current role)
// for every role R they have interactions with. `before` and `after` are (user_id, event_role,
// user_role) contributions; the difference is applied.
const upsertPopulation = (before: string, after: string) => `
  INSERT INTO agg_population (event_role, user_role, users)
  SELECT er, cr, sum(c)::bigint FROM (
    SELECT er, cr, -1 AS c FROM (${before}) b
    UNION ALL SELECT er, cr, 1 FROM (${after}) a
  ) x GROUP BY 1, 2 HAVING sum(c) <> 0 ORDER BY 1, 2
  ON CONFLICT (event_role, user_role) DO UPDATE SET users = agg_population.users + EXCLUDED.users`;

const contributions = (users: string, roles: string) => `
  SELECT ''::text AS er, u.role AS cr FROM ${users} u
  UNION ALL SELECT r.role::text, u.role FROM ${roles} r JOIN ${users} u USING (user_id)`;

/** interactions' columns that a batch writes, in the order of interactionInput's. */
const INTERACTION_COLUMNS =
  'event_id, user_id, role, action, page, occurred_at, received_at, session_id, properties, user_agent, is_bot, kafka_partition, kafka_offset';

const msToTimestamp = (col: string) => `TIMESTAMPTZ 'epoch' + ${col} * INTERVAL '1 millisecond'`;
const RESOLVED_ROLE_T = Prisma.raw(resolvedRole('t'));
const OCCURRED_AT = Prisma.raw(msToTimestamp('occurred_ms'));
const RECEIVED_AT = Prisma.raw(msToTimestamp('received_ms'));

/**
 * The rows of interactionColumns(rows) (14 array literals) as a relation with interactions' column names and
 * types: the input of a set-based insert (storeInteractions, rawInteractionsInsert). Times travel as
 * epoch milliseconds, which costs less to write and to read than ISO strings.
 */
const interactionInput = (c: string[]) => Prisma.sql`
  SELECT event_id, user_id, ${RESOLVED_ROLE_T} AS role, action, page, ${OCCURRED_AT} AS occurred_at,
         ${RECEIVED_AT} AS received_at, session_id, properties, user_agent, is_bot,
         kafka_partition, kafka_offset
    FROM unnest(${c[0]}::uuid[], ${c[1]}::text[], ${c[2]}::text[], ${c[3]}::text[], ${c[4]}::text[], ${c[5]}::bigint[],
                ${c[6]}::bigint[], ${c[7]}::text[], ${c[8]}::jsonb[], ${c[9]}::text[], ${c[10]}::boolean[], ${c[11]}::int[],
                ${c[12]}::bigint[], ${c[13]}::boolean[])
      AS t(event_id, user_id, role, action, page, occurred_ms, received_ms, session_id, properties,
           user_agent, is_bot, kafka_partition, kafka_offset, role_unset)`;

/**
 * The raw insert alone (no aggregates) of interactionColumns(rows) into `table`, shaped like
 * `interactions`: the pipeline benchmark's baseline and bench/scripts/measure-store.mjs' raw mode.
 */
export const rawInteractionsInsert = (table: string, columns: string[]) =>
  Prisma.sql`INSERT INTO ${Prisma.raw(table)} (${Prisma.raw(INTERACTION_COLUMNS)}) ${interactionInput(columns)}
             ON CONFLICT DO NOTHING`;

// NOTE: every aggregate is fed from `fresh`, the rows this statement actually inserted: only events
// whose id was new to interaction_ids (ON CONFLICT DO NOTHING), so a redelivered event changes nothing. Rows are upserted in key order so that
// concurrent batches (other partitions, other instances) lock shared rows in the same order. The
// histogram and population deltas compare the affected users' counts before this statement with
// after: per page and prefix, the upsert returns the new count and the batch's own count is the
// difference; per role and action, the users' agg_user_action rows as this statement's snapshot
// shows them (old_ua, read through the primary key: `= ANY(ids)` rather than a join that may scan the
// whole table). lockUsers() keeps other transactions off those users meanwhile.
const STORE_INTERACTIONS_TAIL = Prisma.raw(`), new_ids AS (
    INSERT INTO interaction_ids (event_id, occurred_at)
    SELECT event_id, occurred_at FROM input ORDER BY event_id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
  ), fresh AS (
    INSERT INTO interactions (${INTERACTION_COLUMNS})
    SELECT ${INTERACTION_COLUMNS} FROM input WHERE event_id IN (SELECT event_id FROM new_ids)
    ORDER BY occurred_at, event_id
    RETURNING event_id, user_id, role, action, page, occurred_at
  ), fresh_prefixes AS (${withPrefixes('fresh')}),
  ${AGGREGATES.filter((d) => d.fromRows)
    .map((def) => `up_${def.table} AS (${upsertAggregate(def)})`)
    .join(',\n  ')},
  ids AS (SELECT array_agg(DISTINCT user_id) AS ids FROM fresh),
  old_u AS (SELECT user_id, role, action_count FROM users WHERE user_id = ANY ((SELECT ids FROM ids)::text[])),
  old_ua AS (
    SELECT user_id, role, action, n FROM agg_user_action WHERE user_id = ANY ((SELECT ids FROM ids)::text[])
  ),
  u AS (
    INSERT INTO users (user_id, role, action_count, first_seen, last_seen, role_at)
    SELECT user_id, (array_agg(role ORDER BY occurred_at DESC, role DESC))[1], count(*), min(occurred_at),
           max(occurred_at), max(occurred_at)
      FROM fresh GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET
      action_count = users.action_count + EXCLUDED.action_count, ${MERGE_USER_SEEN}
    RETURNING user_id, role, action_count
  ), counts AS (
    SELECT 'all' AS dim, '' AS key, coalesce(o.action_count, 0) AS old_n, u.action_count AS new_n
      FROM u LEFT JOIN old_u o USING (user_id)
    UNION ALL
    SELECT 'role', d.role::text, coalesce(o.n, 0), coalesce(o.n, 0) + d.n
      FROM (SELECT user_id, role, count(*) AS n FROM fresh GROUP BY 1, 2) d
      LEFT JOIN (SELECT user_id, role, sum(n) AS n FROM old_ua GROUP BY 1, 2) o USING (user_id, role)
    UNION ALL
    SELECT 'action', d.action, coalesce(o.n, 0), coalesce(o.n, 0) + d.n
      FROM (SELECT user_id, action, count(*) AS n FROM fresh GROUP BY 1, 2) d
      LEFT JOIN (SELECT user_id, action, sum(n) AS n FROM old_ua GROUP BY 1, 2) o USING (user_id, action)
    UNION ALL
    SELECT 'page', r.page, r.n - d.n, r.n
      FROM (SELECT user_id, page, count(*) AS n FROM fresh GROUP BY 1, 2) d
      JOIN up_agg_user_page r USING (user_id, page)
    UNION ALL
    SELECT 'prefix', r.prefix, r.n - d.n, r.n
      FROM (SELECT user_id, prefix, count(*) AS n FROM fresh_prefixes GROUP BY 1, 2) d
      JOIN up_agg_user_prefix r USING (user_id, prefix)
  ), hist AS (
    INSERT INTO agg_user_hist (dim, key, n, users)
    SELECT dim, key, n, sum(c)::bigint FROM (
      SELECT dim, key, old_n AS n, -1 AS c FROM counts WHERE old_n > 0
      UNION ALL SELECT dim, key, new_n, 1 FROM counts
    ) x GROUP BY 1, 2, 3 HAVING sum(c) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (dim, key, n) DO UPDATE SET users = agg_user_hist.users + EXCLUDED.users
  ), pop AS (${upsertPopulation(
    contributions('old_u', '(SELECT DISTINCT user_id, role FROM old_ua)'),
    contributions('u', '(SELECT user_id, role FROM old_ua UNION SELECT user_id, role FROM fresh)'),
  )})
  SELECT count(*)::int AS inserted, max(occurred_at) AS newest FROM fresh`);
const storeInteractionsSql = (columns: string[]) =>
  Prisma.sql`WITH input AS (${interactionInput(columns)}${STORE_INTERACTIONS_TAIL}`;

const LOCK_CLASS = 7411; // advisory lock namespace of the processor's per-user locks

/**
 * Takes a transaction-scoped advisory lock per user (in a fixed order, so concurrent batches cannot
 * deadlock on them). The histogram and population updates read a user's rows before changing them;
 * the lock keeps a second transaction on the same user (e.g. a consumer that lost its partition but
 * is still finishing a batch) from interleaving. Call inside the transaction, before storing.
 */
export async function lockUsers(db: PrismaSql, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  await db.$queryRaw`SELECT count(pg_advisory_xact_lock(${Prisma.raw(String(LOCK_CLASS))}, k))::int AS n FROM (
       SELECT DISTINCT hashtext(u) AS k FROM unnest(${userIds}::text[]) AS u ORDER BY 1) x`;
}

/** Locks the rows' users unless the caller did, then runs one store statement (both store functions). */
async function runStore(
  db: PrismaSql,
  rows: { userId: string }[],
  opts: StoreOptions,
  statement: () => Prisma.Sql,
): Promise<StoreResult> {
  if (!opts.usersLocked) {
    await lockUsers(
      db,
      rows.map((r) => r.userId),
    );
  }
  const out = await db.$queryRaw<{ inserted: number; newest: Date | null }[]>(statement());
  return { inserted: out[0]?.inserted ?? 0, newest: out[0]?.newest ?? null };
}

/** What the caller of storeInteractions / storeIdentifies has already done in its transaction. */
export interface StoreOptions {
  /** lockUsers() was called for every user of the rows (the processor locks a batch's users at once). */
  usersLocked?: boolean;
}

/** storeInteractions' options: StoreOptions, and the statement's parameters if built already. */
export interface StoreInteractionsOptions extends StoreOptions {
  /** interactionColumns(rows), built ahead (the processor does while a batch waits its turn). */
  columns?: string[];
  /**
   * The caller has ensured the rows' raw-row partitions (ensureInteractionPartitions), outside the
   * transaction: the processor does, before each batch. Otherwise this call ensures them first.
   */
  partitionsEnsured?: boolean;
  /** How the sessions table splits events into sessions (default: 30-minute gap, 24 h cap). */
  sessionRules?: SessionRules;
}

/**
 * Stores interactions exactly once and updates every aggregate and the users table for the rows
 * actually inserted, in one set-based statement (after lockUsers), then the sessions of the rows'
 * users (refreshSessions). Call inside the batch's transaction.
 */
export async function storeInteractions(
  db: PrismaSql,
  rows: InteractionRow[],
  opts: StoreInteractionsOptions = {},
): Promise<StoreResult> {
  if (rows.length === 0) return { inserted: 0, newest: null };
  if (!opts.partitionsEnsured) {
    await ensureInteractionPartitions(
      db,
      rows.map((r) => r.occurredAt),
    );
  }
  const result = await runStore(db, rows, opts, () =>
    storeInteractionsSql(opts.columns ?? interactionColumns(rows)),
  );
  const sessions = await refreshSessions(db, rows, opts.sessionRules ?? DEFAULT_SESSION_RULES);
  return { ...result, sessions };
}

/**
 * The rows as 14 array literals, the parameters $1..$14 of INTERACTION_INPUT: event_id, user_id,
 * role, action, page, occurred_at and received_at (epoch ms), session_id, properties (JSON),
 * user_agent, is_bot, kafka_partition, kafka_offset, role_unset.
 */
export function interactionColumns(rows: InteractionRow[]): string[] {
  return [
    textArray(rows.map((r) => r.eventId)),
    textArray(rows.map((r) => r.userId)),
    textArray(rows.map((r) => r.role)),
    textArray(rows.map((r) => r.action)),
    textArray(rows.map((r) => r.page)),
    numberArray(rows.map((r) => r.occurredAt)),
    numberArray(rows.map((r) => r.receivedAt)),
    textArray(rows.map((r) => r.sessionId)),
    textArray(rows.map((r) => JSON.stringify(r.properties))),
    textArray(rows.map((r) => r.userAgent)),
    booleanArray(rows.map((r) => r.isBot)),
    numberArray(rows.map((r) => r.partition)),
    numberArray(rows.map((r) => r.offset)),
    booleanArray(rows.map((r) => r.roleUnset === true)),
  ];
}

// NOTE: the traits of every user touched are recomputed from all their identify rows (the stored
// ones plus `fresh`, which this statement's snapshot does not show in `identifies`), so the result
// does not depend on the order in which identify calls arrive.
const identifiesInput = (c: string[]) => Prisma.sql`
    SELECT event_id, user_id, role, traits, ${OCCURRED_AT} AS occurred_at, ${RECEIVED_AT} AS received_at,
           kafka_partition, kafka_offset, role_unset
      FROM unnest(${c[0]}::uuid[], ${c[1]}::text[], ${c[2]}::text[], ${c[3]}::jsonb[], ${c[4]}::bigint[], ${c[5]}::bigint[],
                  ${c[6]}::int[], ${c[7]}::bigint[], ${c[8]}::boolean[])
        AS t(event_id, user_id, role, traits, occurred_ms, received_ms, kafka_partition, kafka_offset, role_unset)`;
const STORE_IDENTIFIES_TAIL = Prisma.raw(`), fresh AS (
    INSERT INTO identifies (event_id, user_id, role, traits, occurred_at, received_at, kafka_partition, kafka_offset)
    SELECT event_id, user_id, ${resolvedRole('input')}, traits, occurred_at, received_at, kafka_partition, kafka_offset
      FROM input ORDER BY event_id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id, user_id, role, traits, occurred_at
  ), per_user AS (
    SELECT user_id, (array_agg(role ORDER BY occurred_at DESC, role DESC))[1] AS role,
           min(occurred_at) AS first_seen, max(occurred_at) AS last_seen
      FROM fresh GROUP BY user_id
  ), all_identifies AS (
    SELECT user_id, occurred_at, event_id, traits FROM identifies WHERE user_id IN (SELECT user_id FROM per_user)
    UNION ALL
    SELECT user_id, occurred_at, event_id, traits FROM fresh
  ), merged AS (
    SELECT a.user_id, jsonb_object_agg(t.key, t.value ORDER BY a.occurred_at, a.event_id) AS traits
      FROM all_identifies a CROSS JOIN LATERAL jsonb_each(a.traits) t GROUP BY a.user_id
  ),
  old_u AS (SELECT user_id, role FROM users WHERE user_id IN (SELECT user_id FROM per_user)),
  old_roles AS (SELECT DISTINCT user_id, role FROM agg_user_action WHERE user_id IN (SELECT user_id FROM per_user)),
  u AS (
    INSERT INTO users (user_id, role, traits, action_count, first_seen, last_seen, identified_at, role_at)
    SELECT p.user_id, p.role, coalesce(m.traits, '{}'::jsonb), 0, p.first_seen, p.last_seen, p.last_seen, p.last_seen
      FROM per_user p LEFT JOIN merged m USING (user_id) ORDER BY p.user_id
    ON CONFLICT (user_id) DO UPDATE SET
      traits = EXCLUDED.traits,
      identified_at = GREATEST(users.identified_at, EXCLUDED.identified_at), ${MERGE_USER_SEEN}
    RETURNING user_id, role
  ), pop AS (${upsertPopulation(contributions('old_u', 'old_roles'), contributions('u', 'old_roles'))})
  SELECT count(*)::int AS inserted, max(occurred_at) AS newest FROM fresh`);
const storeIdentifiesSql = (columns: string[]) =>
  Prisma.sql`WITH input AS (${identifiesInput(columns)}${STORE_IDENTIFIES_TAIL}`;

/**
 * Stores identify calls exactly once and upserts their users (role, traits, identified_at, first and
 * last seen), in one set-based statement (after lockUsers). Call inside the batch's transaction.
 */
export async function storeIdentifies(
  db: PrismaSql,
  rows: IdentifyRow[],
  opts: StoreOptions = {},
): Promise<StoreResult> {
  if (rows.length === 0) return { inserted: 0, newest: null };
  return runStore(db, rows, opts, () =>
    storeIdentifiesSql([
      textArray(rows.map((r) => r.eventId)),
      textArray(rows.map((r) => r.userId)),
      textArray(rows.map((r) => r.role)),
      textArray(rows.map((r) => JSON.stringify(r.traits))),
      numberArray(rows.map((r) => r.occurredAt)),
      numberArray(rows.map((r) => r.receivedAt)),
      numberArray(rows.map((r) => r.partition)),
      numberArray(rows.map((r) => r.offset)),
      booleanArray(rows.map((r) => r.roleUnset === true)),
    ]),
  );
}
