import type pg from 'pg';
import { DEFAULT_SESSION_RULES, type SessionRules } from '../reports/sessions.js';
import { withTransaction } from '../transaction.js';
import { AGGREGATE_TABLES, AGGREGATES, type AggregateDef, USER_COLUMNS, USERS_FROM_RAW } from './catalog.js';
import { fillSessionDays } from './session-days.js';
import { fillSessions } from './sessions.js';

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

/** Fills an (empty) aggregate table from all raw rows; returns its rows. */
export async function fillAggregate(
  client: { query: (text: string) => Promise<{ rowCount: number | null }> },
  def: AggregateDef,
): Promise<number> {
  const res = await client.query(
    // In key order: rows read together (a day's buckets) end up in the same pages.
    `INSERT INTO ${def.table} (${def.keys.join(', ')}, ${def.value})
     SELECT * FROM (${def.recompute}) r ORDER BY ${def.keys.map((_, i) => i + 1).join(', ')}`,
  );
  return res.rowCount ?? 0;
}

/**
 * Recomputes every aggregate, the users and the sessions table from the raw rows, in one transaction that blocks
 * writers meanwhile. For loading raw rows in bulk (COPY) and for repairing after a reconcile found
 * differences. Returns the row count of each table. Refuses once retention has dropped raw rows.
 */
export async function rebuildAggregates(
  pool: pg.Pool,
  sessionRules: SessionRules = DEFAULT_SESSION_RULES,
): Promise<Record<string, number>> {
  // NOTE: a bulk load, not row-by-row maintenance: the indexes (primary keys included) are dropped
  // and built once from sorted data at the end, and the GROUP BYs get the memory to hash in one
  // pass. All in the transaction: a failure rolls the old tables and indexes back.
  const settings = { work_mem: '256MB', maintenance_work_mem: '512MB' };
  return withTransaction(
    pool,
    async (client) => {
      const counts: Record<string, number> = {};
      await client.query('LOCK TABLE interactions, identifies IN SHARE MODE');
      const { rows: retention } = await client.query<{ raw_from: Date | null }>(
        'SELECT raw_from FROM raw_retention WHERE id = 1',
      );
      const rawFrom = retention[0]?.raw_from;
      if (rawFrom) {
        // The aggregates are the only record of what came before: recomputing would erase it.
        throw new Error(
          `cannot rebuild the aggregates: raw rows before ${rawFrom.toISOString()} were dropped by retention (TRACKER_RETENTION_DAYS), and the aggregates are all that counts them`,
        );
      }
      await client.query(`TRUNCATE ${AGGREGATE_TABLES.join(', ')}`);
      const indexes = await indexesOf(client, AGGREGATE_TABLES);
      for (const ix of indexes) {
        await client.query(
          ix.constraint
            ? `ALTER TABLE "${ix.table}" DROP CONSTRAINT "${ix.constraint}"`
            : `DROP INDEX "${ix.index}"`,
        );
      }
      for (const def of AGGREGATES) counts[def.table] = await fillAggregate(client, def);
      const res = await client.query(
        `INSERT INTO users (user_id, ${USER_COLUMNS.join(', ')}) SELECT user_id, ${USER_COLUMNS.join(', ')} FROM (${USERS_FROM_RAW}) x`,
      );
      counts['users'] = res.rowCount ?? 0;
      counts['sessions'] = await fillSessions(client, sessionRules);
      counts['session_days'] = await fillSessionDays(client);
      for (const ix of indexes) {
        await client.query(
          ix.constraint
            ? `ALTER TABLE "${ix.table}" ADD CONSTRAINT "${ix.constraint}" ${ix.definition}`
            : ix.definition,
        );
      }
      return counts;
    },
    { settings },
  );
}
