import type { Role } from '@tracker/schemas';
import type pg from 'pg';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** Bucket widths in minutes. Buckets start at UTC-aligned multiples of their width. */
export const GRAIN = { quarter: 15, hour: 60, day: 1440 } as const;

/** Time grains kept per time-bucketed aggregate, largest first (each divides the previous one). */
export const AGGREGATE_GRAINS = {
  agg_time_action: [GRAIN.day, GRAIN.hour, GRAIN.quarter],
  agg_time_page: [GRAIN.day, GRAIN.hour],
  agg_user_time: [GRAIN.day, GRAIN.hour],
} as const;

// date_bin with a fixed UTC origin does not depend on the session's TimeZone (date_trunc would).
const ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'";
const bucketOf = (col: string) => `date_bin(make_interval(mins => g.grain), ${col}, ${ORIGIN})`;
const grainsOf = (grains: readonly number[]) =>
  `(VALUES ${grains.map((g) => `(${g})`).join(', ')}) AS g(grain)`;

/**
 * One aggregate table: its key columns and how its rows are computed from interaction rows `s`
 * (columns user_id, role, action, page, occurred_at). The same SELECT serves the incremental update
 * (over the rows just inserted), the rebuild and the reconcile (over all raw rows), so the three
 * cannot drift apart.
 */
export interface AggregateDef {
  table: string;
  keys: string[];
  select(source: string): string;
}

export const AGGREGATES: AggregateDef[] = [
  {
    table: 'agg_time_action',
    keys: ['grain', 'bucket', 'role', 'action'],
    select: (src) =>
      `SELECT g.grain, ${bucketOf('s.occurred_at')} AS bucket, s.role, s.action, count(*)::bigint AS n
         FROM ${src} s CROSS JOIN ${grainsOf(AGGREGATE_GRAINS.agg_time_action)} GROUP BY 1, 2, 3, 4`,
  },
  {
    table: 'agg_time_page',
    keys: ['grain', 'bucket', 'page'],
    select: (src) =>
      `SELECT g.grain, ${bucketOf('s.occurred_at')} AS bucket, s.page, count(*)::bigint AS n
         FROM ${src} s CROSS JOIN ${grainsOf(AGGREGATE_GRAINS.agg_time_page)} GROUP BY 1, 2, 3`,
  },
  {
    table: 'agg_page_action',
    keys: ['page', 'role', 'action'],
    select: (src) => `SELECT s.page, s.role, s.action, count(*)::bigint AS n FROM ${src} s GROUP BY 1, 2, 3`,
  },
  {
    table: 'agg_user_action',
    keys: ['user_id', 'role', 'action'],
    select: (src) =>
      `SELECT s.user_id, s.role, s.action, count(*)::bigint AS n FROM ${src} s GROUP BY 1, 2, 3`,
  },
  {
    table: 'agg_user_page',
    keys: ['user_id', 'page'],
    select: (src) => `SELECT s.user_id, s.page, count(*)::bigint AS n FROM ${src} s GROUP BY 1, 2`,
  },
  {
    table: 'agg_user_time',
    keys: ['grain', 'bucket', 'user_id'],
    select: (src) =>
      `SELECT g.grain, ${bucketOf('s.occurred_at')} AS bucket, s.user_id, count(*)::bigint AS n
         FROM ${src} s CROSS JOIN ${grainsOf(AGGREGATE_GRAINS.agg_user_time)} GROUP BY 1, 2, 3`,
  },
];

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
}

export interface StoreResult {
  /** Rows actually inserted (the rest were already stored: redeliveries). */
  inserted: number;
  /** Newest occurred_at among the inserted rows. */
  newest: Date | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

const upsertAggregate = (def: AggregateDef) =>
  `INSERT INTO ${def.table} (${def.keys.join(', ')}, n)
   ${def.select('fresh')} ORDER BY ${def.keys.map((_, i) => i + 1).join(', ')}
   ON CONFLICT (${def.keys.join(', ')}) DO UPDATE SET n = ${def.table}.n + EXCLUDED.n`;

// How an existing user absorbs newer facts: seen range widened, role from the latest event (ties:
// the later role in enum order), so the result does not depend on the order batches arrive in.
const MERGE_USER_SEEN = `
      first_seen = LEAST(users.first_seen, EXCLUDED.first_seen),
      last_seen = GREATEST(users.last_seen, EXCLUDED.last_seen),
      role = CASE WHEN (EXCLUDED.role_at, EXCLUDED.role) > (users.role_at, users.role)
                  THEN EXCLUDED.role ELSE users.role END,
      role_at = GREATEST(users.role_at, EXCLUDED.role_at)`;

// NOTE: every aggregate is fed from `fresh`, the rows this statement actually inserted, so a
// redelivered event (ON CONFLICT DO NOTHING) changes nothing. Rows are upserted in key order so that
// concurrent batches (other partitions, other instances) lock shared rows in the same order.
const STORE_INTERACTIONS = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                         $7::timestamptz[], $8::text[], $9::jsonb[], $10::text[], $11::boolean[], $12::int[],
                         $13::bigint[])
      AS t(event_id, user_id, role, action, page, occurred_at, received_at, session_id, properties,
           user_agent, is_bot, kafka_partition, kafka_offset)
  ), fresh AS (
    INSERT INTO interactions (event_id, user_id, role, action, page, occurred_at, received_at, session_id,
                              properties, user_agent, is_bot, kafka_partition, kafka_offset)
    SELECT event_id, user_id, role::"Role", action, page, occurred_at, received_at, session_id, properties,
           user_agent, is_bot, kafka_partition, kafka_offset
      FROM input ORDER BY event_id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id, user_id, role, action, page, occurred_at
  ), ${AGGREGATES.map((def, i) => `a${i} AS (${upsertAggregate(def)})`).join(',\n  ')},
  u AS (
    INSERT INTO users (user_id, role, action_count, first_seen, last_seen, role_at)
    SELECT user_id, (array_agg(role ORDER BY occurred_at DESC, role DESC))[1], count(*), min(occurred_at),
           max(occurred_at), max(occurred_at)
      FROM fresh GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET
      action_count = users.action_count + EXCLUDED.action_count, ${MERGE_USER_SEEN}
  )
  SELECT count(*)::int AS inserted, max(occurred_at) AS newest FROM fresh`;

/**
 * Stores interactions exactly once and updates every aggregate and the users table for the rows
 * actually inserted, in one set-based statement. Call inside the batch's transaction.
 */
export async function storeInteractions(db: Queryable, rows: InteractionRow[]): Promise<StoreResult> {
  if (rows.length === 0) return { inserted: 0, newest: null };
  const { rows: out } = await db.query<{ inserted: number; newest: Date | null }>(STORE_INTERACTIONS, [
    rows.map((r) => r.eventId),
    rows.map((r) => r.userId),
    rows.map((r) => r.role),
    rows.map((r) => r.action),
    rows.map((r) => r.page),
    rows.map((r) => iso(r.occurredAt)),
    rows.map((r) => iso(r.receivedAt)),
    rows.map((r) => r.sessionId),
    rows.map((r) => JSON.stringify(r.properties)),
    rows.map((r) => r.userAgent),
    rows.map((r) => r.isBot),
    rows.map((r) => r.partition),
    rows.map((r) => r.offset),
  ]);
  return { inserted: out[0]?.inserted ?? 0, newest: out[0]?.newest ?? null };
}

// NOTE: the traits of every user touched are recomputed from all their identify rows (the stored
// ones plus `fresh`, which this statement's snapshot does not show in `identifies`), so the result
// does not depend on the order in which identify calls arrive.
const STORE_IDENTIFIES = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::timestamptz[], $6::timestamptz[],
                         $7::int[], $8::bigint[])
      AS t(event_id, user_id, role, traits, occurred_at, received_at, kafka_partition, kafka_offset)
  ), fresh AS (
    INSERT INTO identifies (event_id, user_id, role, traits, occurred_at, received_at, kafka_partition, kafka_offset)
    SELECT event_id, user_id, role::"Role", traits, occurred_at, received_at, kafka_partition, kafka_offset
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
  ), u AS (
    INSERT INTO users (user_id, role, traits, action_count, first_seen, last_seen, identified_at, role_at)
    SELECT p.user_id, p.role, coalesce(m.traits, '{}'::jsonb), 0, p.first_seen, p.last_seen, p.last_seen, p.last_seen
      FROM per_user p LEFT JOIN merged m USING (user_id) ORDER BY p.user_id
    ON CONFLICT (user_id) DO UPDATE SET
      traits = EXCLUDED.traits,
      identified_at = GREATEST(users.identified_at, EXCLUDED.identified_at), ${MERGE_USER_SEEN}
  )
  SELECT count(*)::int AS inserted, max(occurred_at) AS newest FROM fresh`;

/**
 * Stores identify calls exactly once and upserts their users (role, traits, identified_at, first and
 * last seen), in one set-based statement. Call inside the batch's transaction.
 */
export async function storeIdentifies(db: Queryable, rows: IdentifyRow[]): Promise<StoreResult> {
  if (rows.length === 0) return { inserted: 0, newest: null };
  const { rows: out } = await db.query<{ inserted: number; newest: Date | null }>(STORE_IDENTIFIES, [
    rows.map((r) => r.eventId),
    rows.map((r) => r.userId),
    rows.map((r) => r.role),
    rows.map((r) => JSON.stringify(r.traits)),
    rows.map((r) => iso(r.occurredAt)),
    rows.map((r) => iso(r.receivedAt)),
    rows.map((r) => r.partition),
    rows.map((r) => r.offset),
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
        `INSERT INTO ${def.table} (${def.keys.join(', ')}, n) ${def.select('interactions')}`,
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
