import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InteractionRow } from './aggregates/rows.js';
import { storeInteractions } from './aggregates/store.js';
import { inSnapshot } from './snapshot.js';
import { computeStats } from './stats/compute.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('snapshot');
  await db.pool.query('CREATE TABLE snap_probe (n int)');
});
afterAll(async () => db?.drop());

const count = async (q: { query: pg.Pool['query'] }) =>
  Number((await q.query<{ n: number }>('SELECT count(*)::int AS n FROM snap_probe')).rows[0]!.n);
const slowPid = (q: { query: pg.Pool['query'] }) =>
  q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid FROM pg_sleep(0.05)').then((r) => r.rows[0]!.pid);

describe('inSnapshot', () => {
  it('runs statements side by side on up to `width` connections, all in one snapshot', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 6 });
    try {
      const before = await count(pool);
      const seen = await inSnapshot(pool, 3, async (q) => {
        const first = await count(q);
        await pool.query('INSERT INTO snap_probe SELECT generate_series(1, 10)'); // committed outside
        const pids = await Promise.all(Array.from({ length: 6 }, () => slowPid(q)));
        const counts = await Promise.all(Array.from({ length: 6 }, () => count(q)));
        return { first, pids, counts };
      });
      expect(seen.first).toBe(before);
      expect(seen.counts).toEqual(Array(6).fill(before)); // the rows inserted meanwhile are not seen
      expect(new Set(seen.pids).size).toBeGreaterThan(1);
      expect(new Set(seen.pids).size).toBeLessThanOrEqual(3);
      expect(await count(pool)).toBe(before + 10);
      // Every connection went back to the pool, none left in a transaction.
      expect(pool.idleCount).toBe(pool.totalCount);
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      );
      expect(rows[0]!.n).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('never waits for a second connection: callers on an exhausted pool share what they hold', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      // Two callers, each holding one of the pool's two connections and wanting four: waiting for
      // more would deadlock; they run their statements one after another on their own instead.
      const runs = await Promise.all(
        [0, 1].map(() =>
          inSnapshot(pool, 4, async (q) => new Set(await Promise.all([1, 2, 3, 4].map(() => slowPid(q))))),
        ),
      );
      expect(runs.map((pids) => pids.size)).toEqual([1, 1]);
      const [a, b] = runs.map((pids) => [...pids][0]);
      expect(a).not.toBe(b);
    } finally {
      await pool.end();
    }
  });

  it('refuses statements after `work` has settled and passes statement errors on', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 3 });
    try {
      let kept: { query: pg.Pool['query'] } | undefined;
      await inSnapshot(pool, 2, async (q) => {
        kept = q;
        await expect(q.query('SELECT 1/0')).rejects.toThrow(/division by zero/);
      });
      await expect(count(kept!)).rejects.toThrow(/snapshot is closed/);
      expect(await count(pool)).toBeGreaterThanOrEqual(0); // the pool still serves
      expect(pool.idleCount).toBe(pool.totalCount);
    } finally {
      await pool.end();
    }
  });

  it('survives a connection killed mid-statement: the statement fails, the process does not', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 4 });
    // As the services' pools do: a connection that dies while idle in the pool is reported, not thrown
    // (whether the termination reaches it in use or idle depends on timing).
    pool.on('error', () => {});
    try {
      const attempt = inSnapshot(pool, 2, async (q) => {
        const pid = (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        const slow = q.query('SELECT pg_sleep(5)');
        // The termination may reach this query before the terminate call answers: not unhandled meanwhile.
        slow.catch(() => {});
        await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
        await slow;
      });
      await expect(attempt).rejects.toThrow(/terminat/);
      // The broken connection was not given back for reuse; the pool still serves.
      expect(await count(pool)).toBeGreaterThanOrEqual(0);
    } finally {
      await pool.end();
    }
  });
});

describe('computeStats while data arrives', () => {
  it('agrees with itself: the daily series and the page ranking sum to totalActions in every result', async () => {
    const day = Date.UTC(2026, 5, 1);
    const batch = (k: number): InteractionRow[] =>
      Array.from({ length: 200 }, (_, i) => ({
        eventId: randomUUID(),
        userId: `user-${(k * 7 + i) % 40}`,
        role: 'USER',
        action: i % 3 === 0 ? 'click' : 'page_view',
        page: `/p/${i % 5}`,
        occurredAt: day + ((k * 200 + i) % 5) * 86_400_000 + i * 1000,
        receivedAt: day,
        sessionId: null,
        properties: {},
        userAgent: null,
        isBot: false,
        partition: 0,
        offset: String(k * 200 + i),
      }));
    let writing = true;
    let written = 0;
    const writer = (async () => {
      for (let k = 0; writing && k < 400; k += 1) {
        await db.prisma.$transaction((tx) => storeInteractions(tx, batch(k)));
        written += 1;
      }
    })();
    const results = [];
    try {
      // At least 60 reads, and on until 30 batches were written meanwhile (however fast each side is).
      for (let i = 0; i < 60 || (written < 30 && i < 2000); i += 1)
        results.push(await computeStats(db.pool, {}));
    } finally {
      writing = false;
      await writer;
    }
    const totals = results.map((s) => s.totalActions);
    expect(new Set(totals).size).toBeGreaterThan(5); // the data did change under the reads
    for (const s of results) {
      expect(s.daily.reduce((n, d) => n + d.count, 0)).toBe(s.totalActions);
      expect(s.pageRanking.reduce((n, p) => n + p.count, 0)).toBe(s.totalActions); // 5 pages: all listed
    }
  });
});
