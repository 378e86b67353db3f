// The migration that adds the sessions table fills it from the rows already stored (migrate() runs
// MIGRATION_FILLS in the migration's transaction): a database migrated to the migration before,
// holding raw rows, has every session of the reference after `migrate`, and the one after it the
// per-day totals of those sessions, and a later one each user's first interaction per action and day.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseUrl, prismaFor, stackConfig, uniqueName } from '@tracker/test-utils';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregateDef } from './aggregates/catalog.js';
import { sessionDayDifferencesSql } from './aggregates/session-days.js';
import { interactionColumns, rawInteractionsInsert } from './aggregates/store.js';
import { MIGRATIONS_DIR, migrate } from './migrate.js';
import { sessionEvents } from './reports/session-events.harness.js';
import { rawEventOf } from './testing/reports/events.js';
import { sessionsOf } from './testing/reports/sessions.js';

const SESSIONS_MIGRATION = '20261207100000_sessions';
const name = uniqueName('tracker_fill')
  .toLowerCase()
  .replace(/[^a-z0-9_]/g, '_');
const url = databaseUrl(stackConfig().DATABASE_URL, name);
const adminUrl = databaseUrl(stackConfig().DATABASE_URL, 'postgres');
let before: string;

afterAll(async () => {
  if (before) await rm(before, { recursive: true, force: true });
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
});

describe('migration 20261207100000_sessions', () => {
  it('fills the sessions of the rows stored before it', async () => {
    before = await mkdtemp(join(tmpdir(), 'migrations-'));
    for (const entry of await readdir(MIGRATIONS_DIR)) {
      if (entry < SESSIONS_MIGRATION)
        await cp(join(MIGRATIONS_DIR, entry), join(before, entry), { recursive: true });
    }
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    expect((await migrate(url, before)).applied).not.toContain(SESSIONS_MIGRATION);

    const rows = sessionEvents(5);
    const pool = new pg.Pool({ connectionString: url, max: 2, options: '-c TimeZone=UTC' });
    const prisma = prismaFor(pool);
    try {
      await pool.query('SELECT ensure_interaction_partitions($1::timestamptz[])', [
        rows.map((r) => new Date(r.occurredAt).toISOString()),
      ]);
      await prisma.$executeRaw(rawInteractionsInsert('interactions', interactionColumns(rows)));
      const result = await migrate(url);
      expect(result.applied).toContain(SESSIONS_MIGRATION);
      const { rows: stored } = await pool.query<{ user_id: string; session_key: string; events: number }>(
        'SELECT user_id, session_key, events FROM sessions ORDER BY user_id, session_key',
      );
      const expected = sessionsOf(rows.map(rawEventOf))
        .map((s) => ({ user_id: s.userId, session_key: s.key, events: s.events.length }))
        .sort((a, b) =>
          a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : a.session_key < b.session_key ? -1 : 1,
        );
      expect(stored).toEqual(expected);
      expect(stored.length).toBeGreaterThan(50);
      // The next migration's fill: the per-day tables, equal to a recount of the sessions just filled.
      expect(result.applied).toContain('20261207120000_session_days');
      const { rows: days } = await pool.query<{ n: number }>(
        `SELECT sum(sessions)::int AS n FROM session_days WHERE role = ''`,
      );
      expect(days[0]!.n).toBe(expected.length);
      expect((await pool.query(sessionDayDifferencesSql(1))).rows).toEqual([]);
      // 20261207140000_funnel_entries' fill: each user's first interaction per action and day.
      expect(result.applied).toContain('20261207140000_funnel_entries');
      const firsts = aggregateDef('agg_user_action_first_1d');
      const { rows: diff } = await pool.query<{ stored: number; differ: number }>(
        `WITH r AS (${firsts.recompute}), s AS (SELECT action, user_id, bucket, first FROM agg_user_action_first_1d)
         SELECT (SELECT count(*) FROM s)::int AS stored,
                (SELECT count(*) FROM ((SELECT * FROM r EXCEPT SELECT * FROM s) UNION ALL (SELECT * FROM s EXCEPT SELECT * FROM r)) d)::int AS differ`,
      );
      expect(diff[0]!.stored).toBeGreaterThan(50);
      expect(diff[0]!.differ).toBe(0);
    } finally {
      await prisma.$disconnect();
      await pool.end();
    }
  }, 120_000);
});
