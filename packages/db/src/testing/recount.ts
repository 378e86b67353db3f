import type pg from 'pg';
import { totalApiHits } from '../api-hits.js';
import { assemble } from '../stats/compute.js';
import { checkSpan, normalize, STATS_LIMITS } from '../stats/input.js';
import { daysBetween, giniOfValues } from '../stats/plan.js';
import { conditions, Params, pgTime, populationConditions, whereClause } from '../stats/sql.js';
import type { InteractionFilters, Stats, StatsOptions } from '../stats/types.js';
import type { UserStats } from '../stats/users.js';

/**
 * The same statistics computed naively from raw rows only (interactions and identifies; not even the
 * users table): the reference that tests and the benchmark baseline compare computeStats with.
 */
export async function computeStatsFromRaw(
  pool: pg.Pool,
  filters: InteractionFilters,
  opts: StatsOptions = {},
): Promise<Stats> {
  const f = await normalize(pool, filters, opts);
  const where = (p: Params) => {
    const conds = conditions(p, 'i', f, 'reference');
    if (f.from !== null) conds.push(`i.occurred_at >= ${p.add(pgTime(f.from), 'timestamptz')}`);
    if (f.to !== null) conds.push(`i.occurred_at < ${p.add(pgTime(f.to), 'timestamptz')}`);
    return whereClause(conds);
  };

  const byActionQ = async () => {
    const p = new Params();
    const { rows } = await pool.query<{ key: string; n: number }>(
      `SELECT i.action AS key, count(*)::bigint AS n FROM interactions i${where(p)}
        GROUP BY i.action ORDER BY n DESC, i.action COLLATE "C"`,
      p.values,
    );
    return rows.map((r) => ({ key: r.key, count: Number(r.n) }));
  };
  const pagesQ = async () => {
    const p = new Params();
    const { rows } = await pool.query<{ key: string; n: number }>(
      `SELECT i.page AS key, count(*)::bigint AS n FROM interactions i${where(p)}
        GROUP BY i.page ORDER BY n DESC, i.page COLLATE "C" LIMIT ${p.add(f.topPages)}`,
      p.values,
    );
    return rows.map((r) => ({ key: r.key, count: Number(r.n) }));
  };
  const usersQ = async (): Promise<UserStats> => {
    const p = new Params();
    const matching = where(p);
    const known = populationConditions(p, 'u', f);
    const { rows } = await pool.query<{ role: string; n: number }>(
      `WITH ev AS (
         SELECT user_id, role, occurred_at FROM interactions
         UNION ALL SELECT user_id, role, occurred_at FROM identifies
       ), u AS (
         SELECT user_id, (array_agg(role ORDER BY occurred_at DESC, role DESC))[1] AS role,
                min(occurred_at) AS first_seen
           FROM ev GROUP BY user_id
       ), m AS (
         SELECT i.user_id, count(*)::bigint AS n FROM interactions i${matching} GROUP BY i.user_id
       )
       SELECT u.role::text AS role, coalesce(m.n, 0)::bigint AS n
         FROM u LEFT JOIN m USING (user_id)
        WHERE (${known.length > 0 ? known.join(' AND ') : 'TRUE'}) OR m.user_id IS NOT NULL`,
      p.values,
    );
    const byRole = new Map<string, number>();
    for (const r of rows) byRole.set(r.role, (byRole.get(r.role) ?? 0) + 1);
    const values = rows.map((r) => Number(r.n));
    return {
      usersWithActions: values.filter((v) => v > 0).length,
      population: values.length,
      byRole,
      gini: giniOfValues(values),
    };
  };
  const dailyQ = async () => {
    const p = new Params();
    const tz = p.add(f.tz);
    const { rows } = await pool.query<{ day: string; n: number }>(
      `SELECT to_char(i.occurred_at AT TIME ZONE ${tz}, 'YYYY-MM-DD') AS day, count(*)::bigint AS n
         FROM interactions i${where(p)} GROUP BY 1 ORDER BY 1`,
      p.values,
    );
    const localDay = async (t: number) => {
      const { rows: out } = await pool.query<{ day: string }>(
        `SELECT to_char($1::timestamptz AT TIME ZONE $2, 'YYYY-MM-DD') AS day`,
        [pgTime(t), f.tz],
      );
      return out[0]!.day;
    };
    if (f.from !== null && f.to !== null && f.from >= f.to) return [];
    let first = f.from !== null ? await localDay(f.from) : rows[0]?.day;
    const last = f.to !== null ? await localDay(f.to - 1) : rows[rows.length - 1]?.day;
    if (first === undefined || last === undefined || first > last) return [];
    if (f.from === null) {
      // The same limit as computeStats: at most maxDays days, the last ones, when from is not given.
      const q = new Params();
      const newest =
        f.to !== null
          ? f.to - 1
          : (
              await pool.query<{ t: Date }>(
                `SELECT max(i.occurred_at) AS t FROM interactions i${where(q)}`,
                q.values,
              )
            ).rows[0]!.t.getTime();
      const earliest = await localDay(newest - (STATS_LIMITS.maxDays - 1) * 86_400_000);
      if (earliest > first) first = earliest;
    }
    if (f.from !== null && f.to !== null) checkSpan(f.from, f.to - 1);
    const counts = new Map(rows.map((r) => [r.day, Number(r.n)]));
    return daysBetween(first, last).map((date) => ({ date, count: counts.get(date) ?? 0 }));
  };

  const [byAction, pages, users, days, apiHits] = await Promise.all([
    byActionQ(),
    pagesQ(),
    usersQ(),
    dailyQ(),
    totalApiHits(pool),
  ]);
  return assemble(byAction, pages, users, days, apiHits);
}
