import type pg from 'pg';
import { DEFAULT_SESSION_RULES, type SessionRules } from '../reports/sessions.js';
import { withTransaction } from '../transaction.js';
import { AGGREGATES, USER_COLUMNS, USERS_FROM_RAW } from './catalog.js';
import { sessionDayDifferencesSql } from './session-days.js';
import { sessionDifferencesSql } from './sessions.js';

/** One aggregate value that differs from its recount over raw rows (null = row missing on that side). */
export interface ReconcileDifference {
  table: string;
  key: Record<string, unknown>;
  column: string;
  stored: unknown;
  expected: unknown;
}

export interface ReconcileTable {
  table: string;
  /** Rows stored in the table. */
  rows: number;
  /** Rows that differ from the recount (a row can differ in several columns). */
  differences: number;
  /**
   * Why the table was not compared: after retention dropped raw rows, all-time totals (per user, page,
   * the users table…) include rows that no longer exist. Time buckets are compared from rawFrom on.
   */
  skipped?: string;
}

export interface ReconcileResult {
  /** raw_retention.raw_from: raw rows before it were dropped (null: none were). */
  rawFrom: Date | null;
  tables: ReconcileTable[];
  /** Every difference found, up to `limit` (default: all). */
  differences: ReconcileDifference[];
  /** Differing rows over all tables (also those beyond `limit`). */
  totalDifferences: number;
}

const normalize = (v: unknown): unknown => (v instanceof Date ? v.toISOString() : v);

/**
 * Recomputes every aggregate (and the users table) from the raw rows and reports every difference.
 * Runs in one REPEATABLE READ snapshot, so a processor writing meanwhile cannot cause false
 * differences (each batch updates raw rows and aggregates in one transaction).
 */
export async function reconcile(
  pool: pg.Pool,
  opts: { limit?: number; sessionRules?: SessionRules } = {},
): Promise<ReconcileResult> {
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  const result: ReconcileResult = { rawFrom: null, tables: [], differences: [], totalDifferences: 0 };
  const room = () => (Number.isFinite(limit) ? Math.max(0, limit - result.differences.length) : null);
  return withTransaction(
    pool,
    async (client) => {
      const { rows: retention } = await client.query<{ raw_from: Date | null }>(
        'SELECT raw_from FROM raw_retention WHERE id = 1',
      );
      const rawFrom = retention[0]?.raw_from ?? null;
      result.rawFrom = rawFrom;
      const skip = async (table: string) => {
        const { rows: size } = await client.query<{ n: number }>(
          `SELECT count(*)::bigint AS n FROM ${table}`,
        );
        result.tables.push({
          table,
          rows: size[0]?.n ?? 0,
          differences: 0,
          skipped: `all-time totals; raw rows before ${rawFrom!.toISOString()} were dropped (TRACKER_RETENTION_DAYS)`,
        });
      };
      for (const def of AGGREGATES) {
        const timed = def.keys.includes('bucket');
        if (rawFrom && !timed) {
          await skip(def.table);
          continue;
        }
        // With retention, time buckets from rawFrom on (a week start: every grain's bucket boundary).
        const since = rawFrom && timed ? ` WHERE bucket >= $1` : '';
        const left = room();
        const { rows } = await client.query<
          Record<string, unknown> & { stored: number | null; expected: number | null; total: number }
        >(
          // A stored row counting 0 is the same as no row (histogram rows may drop to 0 and stay).
          `WITH e AS (SELECT * FROM (${def.recompute}) r${since}),
                  a AS (SELECT * FROM ${def.table} WHERE ${def.present ?? `${def.value} <> 0`}${since ? ' AND bucket >= $1' : ''})
             SELECT ${def.keys.join(', ')}, a.${def.value} AS stored, e.${def.value} AS expected,
                    count(*) OVER ()::bigint AS total
               FROM a FULL JOIN e USING (${def.keys.join(', ')})
              WHERE a.${def.value} IS DISTINCT FROM e.${def.value}
              ORDER BY ${def.keys.join(', ')}
              ${left === null ? '' : `LIMIT ${left + 1}`}`,
          since ? [rawFrom] : [],
        );
        const { rows: size } = await client.query<{ n: number }>(
          `SELECT count(*)::bigint AS n FROM ${def.table}`,
        );
        const total = rows[0]?.total ?? 0;
        for (const row of rows.slice(0, left ?? rows.length)) {
          result.differences.push({
            table: def.table,
            key: Object.fromEntries(def.keys.map((k) => [k, normalize(row[k])])),
            column: def.value,
            stored: row.stored,
            expected: row.expected,
          });
        }
        result.tables.push({ table: def.table, rows: size[0]?.n ?? 0, differences: total });
        result.totalDifferences += total;
      }

      // Against the sessions table, which outlives retention like they do.
      await compareSessionDays(client, room(), result);
      if (rawFrom) {
        await skip('users');
        await skip('sessions');
        return result;
      }
      await compareSessions(client, opts.sessionRules ?? DEFAULT_SESSION_RULES, room(), result);
      const left = room();
      const cols = USER_COLUMNS;
      const { rows } = await client.query<Record<string, unknown> & { user_id: string; total: number }>(
        `WITH e AS (${USERS_FROM_RAW})
           SELECT user_id, a.user_id IS NOT NULL AS in_stored, e.user_id IS NOT NULL AS in_expected,
                  ${cols.map((c) => `a.${c} AS "s_${c}", e.${c} AS "e_${c}"`).join(', ')},
                  count(*) OVER ()::bigint AS total
             FROM users a FULL JOIN e USING (user_id)
            WHERE ${cols.map((c) => `a.${c} IS DISTINCT FROM e.${c}`).join(' OR ')}
            ORDER BY user_id
            ${left === null ? '' : `LIMIT ${left + 1}`}`,
      );
      const { rows: size } = await client.query<{ n: number }>('SELECT count(*)::bigint AS n FROM users');
      const total = rows[0]?.total ?? 0;
      let added = 0;
      for (const row of rows) {
        if (left !== null && added >= left) break;
        added += 1;
        if (!row['in_stored'] || !row['in_expected']) {
          result.differences.push({
            table: 'users',
            key: { user_id: row.user_id },
            column: '*',
            stored: row['in_stored'] ? 'row' : null,
            expected: row['in_expected'] ? 'row' : null,
          });
          continue;
        }
        for (const c of cols) {
          const stored = normalize(row[`s_${c}`]);
          const expected = normalize(row[`e_${c}`]);
          if (JSON.stringify(stored) !== JSON.stringify(expected)) {
            result.differences.push({
              table: 'users',
              key: { user_id: row.user_id },
              column: c,
              stored,
              expected,
            });
          }
        }
      }
      result.tables.push({ table: 'users', rows: size[0]?.n ?? 0, differences: total });
      result.totalDifferences += total;
      return result;
    },
    { isolation: 'REPEATABLE READ', readOnly: true },
  );
}

/** The sessions table against its recount: a difference per differing session (column '*'). */
async function compareSessions(
  client: pg.PoolClient,
  rules: SessionRules,
  left: number | null,
  result: ReconcileResult,
): Promise<void> {
  const sql = sessionDifferencesSql(rules, left === null ? null : left + 1);
  const { rows } = await client.query<{
    user_id: string;
    session_key: string;
    in_stored: boolean;
    in_expected: boolean;
    total: number;
  }>(sql.text, sql.values);
  const { rows: size } = await client.query<{ n: number }>('SELECT count(*)::bigint AS n FROM sessions');
  for (const row of rows.slice(0, left ?? rows.length)) {
    result.differences.push({
      table: 'sessions',
      key: { user_id: row.user_id, session_key: row.session_key },
      column: '*',
      stored: row.in_stored ? 'row' : null,
      expected: row.in_expected ? 'row' : null,
    });
  }
  const total = rows[0]?.total ?? 0;
  result.tables.push({ table: 'sessions', rows: size[0]?.n ?? 0, differences: total });
  result.totalDifferences += total;
}

const DAY_TABLE_OF = {
  day: 'session_days',
  page: 'session_day_pages',
  bucket: 'session_day_durations',
} as const;
const DAY_KEY_OF = { day: null, page: 'page', bucket: 'bucket' } as const;

/** The per-day session tables against a recount from the sessions table: a difference per differing row. */
async function compareSessionDays(
  client: pg.PoolClient,
  left: number | null,
  result: ReconcileResult,
): Promise<void> {
  const { rows } = await client.query<{
    kind: keyof typeof DAY_TABLE_OF;
    day: string;
    role: string;
    key: string;
    stored: string | null;
    expected: string | null;
    totals: Partial<Record<keyof typeof DAY_TABLE_OF, number>>;
  }>(sessionDayDifferencesSql(left === null ? null : left + 1));
  for (const row of rows.slice(0, left ?? rows.length)) {
    const keyName = DAY_KEY_OF[row.kind];
    result.differences.push({
      table: DAY_TABLE_OF[row.kind],
      key: { day: row.day, role: row.role, ...(keyName ? { [keyName]: row.key } : {}) },
      column: '*',
      stored: row.stored,
      expected: row.expected,
    });
  }
  const totals = rows[0]?.totals ?? {};
  for (const [kind, table] of Object.entries(DAY_TABLE_OF) as [keyof typeof DAY_TABLE_OF, string][]) {
    const { rows: size } = await client.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM ${table}`);
    const differences = totals[kind] ?? 0;
    result.tables.push({ table, rows: size[0]?.n ?? 0, differences });
    result.totalDifferences += differences;
  }
}
