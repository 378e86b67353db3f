import type { Role } from '@tracker/schemas';
import type pg from 'pg';
import { booleanArray, numberArray, textArray } from './pg-array.js';
import type { Queryable } from './snapshot.js';

/** Bucket widths in minutes. Buckets start at UTC-aligned multiples of their width. */
export const GRAIN = { quarter: 15, hour: 60, day: 1440 } as const;

/**
 * The time-bucketed rollups: one table per grain (minutes), so that a query over day buckets reads
 * densely packed day rows. Each grain divides the next larger one.
 */
export const TIME_TABLES = {
  agg_time_total: {
    [GRAIN.day]: 'agg_time_total_1d',
    [GRAIN.hour]: 'agg_time_total_1h',
    [GRAIN.quarter]: 'agg_time_total_15m',
  },
  agg_time_action: {
    [GRAIN.day]: 'agg_time_action_1d',
    [GRAIN.hour]: 'agg_time_action_1h',
    [GRAIN.quarter]: 'agg_time_action_15m',
  },
  agg_time_page: { [GRAIN.day]: 'agg_time_page_1d', [GRAIN.hour]: 'agg_time_page_1h' },
  // NOTE: no hourly per-user table: users are sparse within an hour, so it would hold about one row
  // per event; the partial days at the edges of a range are read from raw rows instead.
  agg_user_time: { [GRAIN.day]: 'agg_user_time_1d' },
} as const satisfies Record<string, Record<number, string>>;

// date_bin with a fixed UTC origin does not depend on the session's TimeZone (date_trunc would).
/** 2000-01-01 UTC: where time buckets are aligned from and agg_user_cum's day numbers start. */
export const BUCKET_ORIGIN_MS = Date.UTC(2000, 0, 1);
const ORIGIN = `TIMESTAMPTZ '${new Date(BUCKET_ORIGIN_MS).toISOString()}'`;
const bucketOf = (grain: number, col: string) => `date_bin(interval '${grain} minutes', ${col}, ${ORIGIN})`;

/**
 * One aggregate table: its key columns, its counted column and how it is computed from all raw rows
 * (rebuild, reconcile). Aggregates over interaction rows also say how to compute them from any
 * relation `src` with columns user_id, role, action, page, occurred_at: the incremental update uses
 * that over the rows a batch inserted, so incremental, rebuild and reconcile cannot drift apart.
 */
export interface AggregateDef {
  table: string;
  keys: string[];
  value: string;
  recompute: string;
  fromRows?: (src: string) => string;
  /**
   * For aggregates over page prefixes: the same as fromRows, from a relation of (user_id, prefix)
   * rows (withPrefixes), so that a statement that has them already does not compute them again.
   */
  fromPrefixes?: (prefixes: string) => string;
  /** How a stored value absorbs EXCLUDED's (default: `value + EXCLUDED.value`). */
  merge?: string;
  /** Stored rows that count (reconcile; default: value <> 0, a zero row being the same as none). */
  present?: string;
  /**
   * The batch upsert returns the stored rows (keys and new value): the histogram deltas read a
   * user's count before and after the batch from them instead of looking the rows up again.
   */
  returnsCounts?: boolean;
}

function rowAggregate(table: string, keys: string[], fromRows: (src: string) => string): AggregateDef {
  return { table, keys, value: 'n', recompute: fromRows('interactions'), fromRows };
}

function prefixAggregate(
  table: string,
  keys: string[],
  fromPrefixes: (prefixes: string) => string,
): AggregateDef {
  return { ...rowAggregate(table, keys, (src) => fromPrefixes(`(${withPrefixes(src)})`)), fromPrefixes };
}

const timeAggregates = (family: keyof typeof TIME_TABLES, cols: string[]) =>
  Object.entries(TIME_TABLES[family])
    .map(([grain, table]) => [Number(grain), table] as const)
    .sort((a, b) => b[0] - a[0])
    .map(([grain, table]) =>
      rowAggregate(
        table,
        ['bucket', ...cols],
        (src) =>
          `SELECT ${[`${bucketOf(grain, 's.occurred_at')} AS bucket`, ...cols.map((c) => `s.${c}`)].join(', ')},
                count(*)::bigint AS n
           FROM ${src} s GROUP BY ${cols.map((_, i) => `${i + 2}, `).join('')}1`,
      ),
    );

/** Deepest page prefix (number of '/' in it) with its own per-user histogram. */
export const MAX_PREFIX_DEPTH = 9;

/**
 * The directory prefixes of each row's page, up to 9 levels: '/', '/docs/', '/docs/a/' for
 * '/docs/a/b' (every prefix ending in '/'), so that a `/docs/*` filter has its own per-user counts.
 */
const withPrefixes = (src: string) => `
  SELECT s.user_id, array_to_string(a.parts[1:k], '/') || '/' AS prefix
    FROM ${src} s
   CROSS JOIN LATERAL (SELECT string_to_array(s.page, '/') AS parts) a
   CROSS JOIN LATERAL generate_series(1, least(cardinality(a.parts) - 1, ${MAX_PREFIX_DEPTH})) AS k`;

/**
 * The users table recomputed from raw rows (interactions and identifies). A user's role is the role
 * of their latest event by occurred_at; on an exact tie the later role in enum order wins (GUEST,
 * the least privileged). Traits: per key, the value from the latest identify that has the key.
 */
export const USERS_FROM_RAW = `
  WITH ev AS (
    SELECT user_id, role, occurred_at, 1 AS track FROM interactions
    UNION ALL
    SELECT user_id, role, occurred_at, 0 AS track FROM identifies
  ), base AS (
    SELECT user_id, (array_agg(role ORDER BY occurred_at DESC, role DESC))[1] AS role,
           sum(track)::bigint AS action_count, min(occurred_at) AS first_seen, max(occurred_at) AS last_seen
      FROM ev GROUP BY user_id
  ), idf AS (
    SELECT user_id, max(occurred_at) AS identified_at FROM identifies GROUP BY user_id
  ), tr AS (
    SELECT i.user_id, jsonb_object_agg(t.key, t.value ORDER BY i.occurred_at, i.event_id) AS traits
      FROM identifies i CROSS JOIN LATERAL jsonb_each(i.traits) t GROUP BY i.user_id
  )
  SELECT b.user_id, b.role, coalesce(tr.traits, '{}'::jsonb) AS traits, b.action_count, b.first_seen,
         b.last_seen, idf.identified_at, b.last_seen AS role_at
    FROM base b LEFT JOIN idf USING (user_id) LEFT JOIN tr USING (user_id)`;

export const USER_COLUMNS = [
  'role',
  'traits',
  'action_count',
  'first_seen',
  'last_seen',
  'identified_at',
  'role_at',
] as const;

/** Days per period of agg_user_cum (UTC days counted from 2000-01-01; period p starts on day p·128). */
export const CUM_PERIOD_DAYS = 128;

/**
 * agg_user_cum's time step: half a UTC day (00:00–12:00, 12:00–24:00; migration
 * 20261127100000_user_cum_half_days), so that a time range's ends are at most 6 hours from a step
 * and the raw rows counted between them stay few (with whole days, up to 12 hours at each end).
 */
export const CUM_SLOT_MS = 43_200_000;

/** Steps per period of agg_user_cum (the length of a full period's array). */
export const CUM_PERIOD_SLOTS = (CUM_PERIOD_DAYS * 86_400_000) / CUM_SLOT_MS;

/**
 * agg_user_cum's hash partitions by user_id (agg_user_cum_0, agg_user_cum_1; migration
 * 20261127000000_user_cum_split): a time-filtered /api/stats reads them side by side.
 */
export const USER_CUM_PARTS = 2;

/**
 * agg_user_cum from any relation of interaction rows: per user and period, the cumulative counts per
 * half-day step (CUM_SLOT_MS) from the period's first step to the user's last active step in it
 * (zeros before the first). Steps before the origin are negative, and so are their periods: floor
 * division (integer `/` and `%` truncate towards zero, which gave index 0 and below, an error, for
 * any event before 2000).
 */
const userCumFromRows = (src: string) => `
  WITH d AS (
    SELECT s.user_id, (floor(extract(epoch FROM s.occurred_at - ${ORIGIN}) / ${CUM_SLOT_MS / 1000}))::int AS slot,
           count(*)::int AS n
      FROM ${src} s GROUP BY 1, 2
  ), p AS (
    SELECT user_id, period, slot - period * ${CUM_PERIOD_SLOTS} + 1 AS idx, n
      FROM (SELECT user_id, floor(slot / ${CUM_PERIOD_SLOTS}.0)::int AS period, slot, n FROM d) q
  ), m AS (
    SELECT period, user_id, min(idx) AS mn, max(idx) AS mx FROM p GROUP BY 1, 2
  )
  SELECT period, user_id, array_fill(0, ARRAY[min(mn) - 1]) || array_agg(c ORDER BY i) AS cum FROM (
    SELECT m.period, m.user_id, m.mn, g.i,
           (sum(coalesce(p.n, 0)) OVER (PARTITION BY m.period, m.user_id ORDER BY g.i))::int AS c
      FROM m CROSS JOIN LATERAL generate_series(m.mn, m.mx) AS g(i)
      LEFT JOIN p ON p.user_id = m.user_id AND p.period = m.period AND p.idx = g.i) x
   GROUP BY 1, 2`;

/** Per-user counts for each histogram dimension, from raw rows: (dim, key, user_id, n). */
const PER_USER_COUNTS = `
  SELECT 'all' AS dim, '' AS key, user_id, count(*) AS n FROM interactions GROUP BY user_id
  UNION ALL SELECT 'role', role::text, user_id, count(*) FROM interactions GROUP BY role, user_id
  UNION ALL SELECT 'action', action, user_id, count(*) FROM interactions GROUP BY action, user_id
  UNION ALL SELECT 'page', page, user_id, count(*) FROM interactions GROUP BY page, user_id
  UNION ALL SELECT 'prefix', prefix, user_id, count(*) FROM (${withPrefixes('interactions')}) p GROUP BY prefix, user_id`;

export const AGGREGATES: AggregateDef[] = [
  ...timeAggregates('agg_time_total', []),
  ...timeAggregates('agg_time_action', ['role', 'action']),
  ...timeAggregates('agg_time_page', ['page']),
  rowAggregate(
    'agg_page_action',
    ['page', 'role', 'action'],
    (src) => `SELECT s.page, s.role, s.action, count(*)::bigint AS n FROM ${src} s GROUP BY 1, 2, 3`,
  ),
  rowAggregate(
    'agg_user_action',
    ['user_id', 'role', 'action'],
    (src) => `SELECT s.user_id, s.role, s.action, count(*)::bigint AS n FROM ${src} s GROUP BY 1, 2, 3`,
  ),
  {
    ...rowAggregate(
      'agg_user_page',
      ['user_id', 'page'],
      (src) => `SELECT s.user_id, s.page, count(*)::bigint AS n FROM ${src} s GROUP BY 1, 2`,
    ),
    returnsCounts: true,
  },
  {
    ...prefixAggregate(
      'agg_user_prefix',
      ['user_id', 'prefix'],
      (prefixes) => `SELECT p.user_id, p.prefix, count(*)::bigint AS n FROM ${prefixes} p GROUP BY 1, 2`,
    ),
    returnsCounts: true,
  },
  ...timeAggregates('agg_user_time', ['user_id']),
  {
    table: 'agg_user_cum',
    keys: ['period', 'user_id'],
    value: 'cum',
    recompute: userCumFromRows('interactions'),
    fromRows: userCumFromRows,
    merge: 'tracker_cum_merge_slots(agg_user_cum.cum, EXCLUDED.cum)',
    present: 'TRUE',
  },
  {
    table: 'agg_user_hist',
    keys: ['dim', 'key', 'n'],
    value: 'users',
    recompute: `SELECT dim, key, n, count(*)::bigint AS users FROM (${PER_USER_COUNTS}) c GROUP BY dim, key, n`,
  },
  {
    table: 'agg_population',
    keys: ['event_role', 'user_role'],
    value: 'users',
    recompute: `WITH cur AS (SELECT user_id, role FROM (${USERS_FROM_RAW}) u)
      SELECT ''::text AS event_role, role AS user_role, count(*)::bigint AS users FROM cur GROUP BY role
      UNION ALL
      SELECT e.role::text, c.role, count(*)::bigint
        FROM (SELECT DISTINCT user_id, role FROM interactions) e JOIN cur c USING (user_id) GROUP BY 1, 2`,
  },
];

/** A TRACK record ready to store (times in epoch ms, Kafka coordinates for traceability). */
export interface InteractionRow {
  eventId: string;
  userId: string;
  role: Role;
  action: string;
  page: string;
  occurredAt: number;
  receivedAt: number;
  sessionId: string | null;
  properties: Record<string, string | number | boolean>;
  userAgent: string | null;
  isBot: boolean;
  partition: number;
  offset: string;
  /**
   * The sender gave no role (`role` is the GUEST default): stored with the user's role as the users
   * table has it before this statement, GUEST for a new user.
   */
  roleUnset?: boolean;
}

/** An IDENTIFY record ready to store. */
export interface IdentifyRow {
  eventId: string;
  userId: string;
  role: Role;
  traits: Record<string, string | number | boolean>;
  occurredAt: number;
  receivedAt: number;
  partition: number;
  offset: string;
  /** As InteractionRow's: a traits-only identify keeps the user's role. */
  roleUnset?: boolean;
}

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
}

const iso = (ms: number) => new Date(ms).toISOString();

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

/** interactions' columns that a batch writes, in the order of INTERACTION_INPUT's. */
const INTERACTION_COLUMNS =
  'event_id, user_id, role, action, page, occurred_at, received_at, session_id, properties, user_agent, is_bot, kafka_partition, kafka_offset';

const msToTimestamp = (col: string) => `TIMESTAMPTZ 'epoch' + ${col} * INTERVAL '1 millisecond'`;

/**
 * The rows of interactionColumns(rows) ($1..$14) as a relation with interactions' column names and
 * types: the input of a set-based insert (storeInteractions, rawInteractionsInsert). Times travel as
 * epoch milliseconds, which costs less to write and to read than ISO strings.
 */
const INTERACTION_INPUT = `
  SELECT event_id, user_id, ${resolvedRole('t')} AS role, action, page, ${msToTimestamp('occurred_ms')} AS occurred_at,
         ${msToTimestamp('received_ms')} AS received_at, session_id, properties, user_agent, is_bot,
         kafka_partition, kafka_offset
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[],
                $9::jsonb[], $10::text[], $11::boolean[], $12::int[], $13::bigint[], $14::boolean[])
      AS t(event_id, user_id, role, action, page, occurred_ms, received_ms, session_id, properties,
           user_agent, is_bot, kafka_partition, kafka_offset, role_unset)`;

/**
 * The raw insert alone (no aggregates) of interactionColumns(rows) into `table`, shaped like
 * `interactions`: the pipeline benchmark's baseline and bench/scripts/measure-store.mjs' raw mode.
 */
export const rawInteractionsInsert = (table: string) =>
  `INSERT INTO ${table} (${INTERACTION_COLUMNS}) ${INTERACTION_INPUT} ON CONFLICT (event_id) DO NOTHING`;

// NOTE: every aggregate is fed from `fresh`, the rows this statement actually inserted, so a
// redelivered event (ON CONFLICT DO NOTHING) changes nothing. Rows are upserted in key order so that
// concurrent batches (other partitions, other instances) lock shared rows in the same order. The
// histogram and population deltas compare the affected users' counts before this statement with
// after: per page and prefix, the upsert returns the new count and the batch's own count is the
// difference; per role and action, the users' agg_user_action rows as this statement's snapshot
// shows them (old_ua, read through the primary key: `= ANY(ids)` rather than a join that may scan the
// whole table). lockUsers() keeps other transactions off those users meanwhile.
const STORE_INTERACTIONS = `
  WITH input AS (${INTERACTION_INPUT}), fresh AS (
    INSERT INTO interactions (${INTERACTION_COLUMNS})
    SELECT ${INTERACTION_COLUMNS} FROM input ORDER BY event_id
    ON CONFLICT (event_id) DO NOTHING
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
  SELECT count(*)::int AS inserted, max(occurred_at) AS newest FROM fresh`;

const LOCK_CLASS = 7411; // advisory lock namespace of the processor's per-user locks

/**
 * Takes a transaction-scoped advisory lock per user (in a fixed order, so concurrent batches cannot
 * deadlock on them). The histogram and population updates read a user's rows before changing them;
 * the lock keeps a second transaction on the same user (e.g. a consumer that lost its partition but
 * is still finishing a batch) from interleaving. Call inside the transaction, before storing.
 */
export async function lockUsers(db: Queryable, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  await db.query(
    `SELECT count(pg_advisory_xact_lock(${LOCK_CLASS}, k)) FROM (
       SELECT DISTINCT hashtext(u) AS k FROM unnest($1::text[]) AS u ORDER BY 1) x`,
    [userIds],
  );
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
}

/**
 * Stores interactions exactly once and updates every aggregate and the users table for the rows
 * actually inserted, in one set-based statement (after lockUsers). Call inside the batch's transaction.
 */
export async function storeInteractions(
  db: Queryable,
  rows: InteractionRow[],
  opts: StoreInteractionsOptions = {},
): Promise<StoreResult> {
  if (rows.length === 0) return { inserted: 0, newest: null };
  if (!opts.usersLocked) {
    await lockUsers(
      db,
      rows.map((r) => r.userId),
    );
  }
  const { rows: out } = await db.query<{ inserted: number; newest: Date | null }>(
    STORE_INTERACTIONS,
    opts.columns ?? interactionColumns(rows),
  );
  return { inserted: out[0]?.inserted ?? 0, newest: out[0]?.newest ?? null };
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
const STORE_IDENTIFIES = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::timestamptz[], $6::timestamptz[],
                         $7::int[], $8::bigint[], $9::boolean[])
      AS t(event_id, user_id, role, traits, occurred_at, received_at, kafka_partition, kafka_offset, role_unset)
  ), fresh AS (
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
  SELECT count(*)::int AS inserted, max(occurred_at) AS newest FROM fresh`;

/**
 * Stores identify calls exactly once and upserts their users (role, traits, identified_at, first and
 * last seen), in one set-based statement (after lockUsers). Call inside the batch's transaction.
 */
export async function storeIdentifies(
  db: Queryable,
  rows: IdentifyRow[],
  opts: StoreOptions = {},
): Promise<StoreResult> {
  if (rows.length === 0) return { inserted: 0, newest: null };
  if (!opts.usersLocked) {
    await lockUsers(
      db,
      rows.map((r) => r.userId),
    );
  }
  const { rows: out } = await db.query<{ inserted: number; newest: Date | null }>(STORE_IDENTIFIES, [
    rows.map((r) => r.eventId),
    rows.map((r) => r.userId),
    rows.map((r) => r.role),
    rows.map((r) => JSON.stringify(r.traits)),
    rows.map((r) => iso(r.occurredAt)),
    rows.map((r) => iso(r.receivedAt)),
    rows.map((r) => r.partition),
    rows.map((r) => r.offset),
    rows.map((r) => r.roleUnset === true),
  ]);
  return { inserted: out[0]?.inserted ?? 0, newest: out[0]?.newest ?? null };
}

/** Every table rebuildAggregates() rewrites. */
export const AGGREGATE_TABLES = [...AGGREGATES.map((a) => a.table), 'users'];

interface IndexDef {
  table: string;
  index: string;
  /** The constraint the index enforces (primary key, unique), when it does. */
  constraint: string | null;
  /** CREATE INDEX ..., or the constraint definition for ALTER TABLE ... ADD CONSTRAINT. */
  definition: string;
}

/** The indexes (and primary keys) of `tables` in the current schema, as they can be created again. */
async function indexesOf(client: pg.PoolClient, tables: string[]): Promise<IndexDef[]> {
  const { rows } = await client.query<IndexDef>(
    `SELECT t.relname AS "table", i.relname AS "index", con.conname AS "constraint",
            coalesce(pg_get_constraintdef(con.oid), pg_get_indexdef(i.oid)) AS definition
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_class t ON t.oid = x.indrelid
       LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.conrelid = t.oid AND con.contype IN ('p', 'u')
      WHERE t.relname = ANY($1) AND t.relnamespace = current_schema()::regnamespace
      ORDER BY t.relname, i.relname`,
    [tables],
  );
  return rows;
}

/**
 * Recomputes every aggregate and the users table from the raw rows, in one transaction that blocks
 * writers meanwhile. For loading raw rows in bulk (COPY) and for repairing after a reconcile found
 * differences. Returns the row count of each table.
 */
export async function rebuildAggregates(pool: pg.Pool): Promise<Record<string, number>> {
  const client = await pool.connect();
  const counts: Record<string, number> = {};
  try {
    await client.query('BEGIN');
    await client.query('LOCK TABLE interactions, identifies IN SHARE MODE');
    // NOTE: a bulk load, not row-by-row maintenance: the tables' indexes (primary keys included) are
    // dropped and built once from sorted data at the end, and the GROUP BYs get the memory to hash
    // in one pass. With millions of raw rows this is many times faster than updating every index for
    // every inserted row (agg_user_time alone has more rows than a 5-million-row interactions table).
    // Everything stays in the transaction: a failure rolls the old tables and indexes back.
    await client.query("SET LOCAL work_mem = '256MB'");
    await client.query("SET LOCAL maintenance_work_mem = '512MB'");
    await client.query(`TRUNCATE ${AGGREGATE_TABLES.join(', ')}`);
    const indexes = await indexesOf(client, AGGREGATE_TABLES);
    for (const ix of indexes) {
      await client.query(
        ix.constraint
          ? `ALTER TABLE "${ix.table}" DROP CONSTRAINT "${ix.constraint}"`
          : `DROP INDEX "${ix.index}"`,
      );
    }
    for (const def of AGGREGATES) {
      const res = await client.query(
        // In key order: rows read together (a day's buckets) end up in the same pages.
        `INSERT INTO ${def.table} (${def.keys.join(', ')}, ${def.value})
         SELECT * FROM (${def.recompute}) r ORDER BY ${def.keys.map((_, i) => i + 1).join(', ')}`,
      );
      counts[def.table] = res.rowCount ?? 0;
    }
    const res = await client.query(
      `INSERT INTO users (user_id, ${USER_COLUMNS.join(', ')}) SELECT user_id, ${USER_COLUMNS.join(', ')} FROM (${USERS_FROM_RAW}) x`,
    );
    counts['users'] = res.rowCount ?? 0;
    for (const ix of indexes) {
      await client.query(
        ix.constraint
          ? `ALTER TABLE "${ix.table}" ADD CONSTRAINT "${ix.constraint}" ${ix.definition}`
          : ix.definition,
      );
    }
    await client.query('COMMIT');
    return counts;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
