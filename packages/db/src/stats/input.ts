// /api/stats input: filters and options checked and normalised before anything is queried.
import { ROLES, type Role } from '@tracker/schemas';
import type pg from 'pg';
import type { Queryable } from '../snapshot.js';
import type { Dim } from './plan.js';
import type { InteractionFilters, StatsOptions } from './types.js';

/** Bad filters or options (the query service answers 400 with `field`). Nothing was queried. */
export class StatsInputError extends Error {
  override name = 'StatsInputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export const STATS_LIMITS = {
  /** Longest daily series (days) a request may ask for. */
  maxDays: 3700,
  /** Largest `topPages`. */
  maxTopPages: 1000,
  defaultTopPages: 10,
} as const;

export interface Normalized {
  userId: string | undefined;
  role: Role | undefined;
  action: string | undefined;
  /** `pages`: for a prefix, the stored pages it matches (resolved once from agg_page_action). */
  page: { value: string; prefix: boolean; pages?: string[] } | undefined;
  from: number | null;
  to: number | null;
  tz: string;
  topPages: number;
}

const zoneCache = new WeakMap<pg.Pool, Promise<Map<string, string>>>();

/**
 * The canonical name of an IANA time zone PostgreSQL knows (case-insensitive lookup in
 * pg_timezone_names, cached per pool), or a StatsInputError. Abbreviations and POSIX strings such as
 * `UTC+3` are refused: only names that the daily series can be computed in are accepted.
 */
export async function validateTimeZone(pool: pg.Pool, tz: string): Promise<string> {
  let names = zoneCache.get(pool);
  if (!names) {
    names = pool
      .query<{ name: string }>('SELECT name FROM pg_timezone_names')
      .then(({ rows }) => new Map(rows.map((r) => [r.name.toLowerCase(), r.name])));
    names.catch(() => zoneCache.delete(pool));
    zoneCache.set(pool, names);
  }
  const canonical = (await names).get(tz.toLowerCase());
  if (!canonical)
    throw new StatsInputError('tz', `unknown time zone '${tz}' (use an IANA name such as Europe/Berlin)`);
  return canonical;
}

function timeOf(field: 'from' | 'to', d: Date | undefined): number | null {
  if (d === undefined) return null;
  if (!(d instanceof Date) || Number.isNaN(d.getTime()))
    throw new StatsInputError(field, 'must be a valid date');
  return d.getTime();
}

/** Checks and normalises the filters; `db` resolves a page prefix's pages (the time zone: `pool`). */
export async function normalize(
  pool: pg.Pool,
  filters: InteractionFilters,
  opts: StatsOptions,
  db: Queryable = pool,
): Promise<Normalized> {
  if (filters.role !== undefined && !ROLES.includes(filters.role)) {
    throw new StatsInputError('role', `must be one of ${ROLES.join(', ')}`);
  }
  const topPages = opts.topPages ?? STATS_LIMITS.defaultTopPages;
  if (!Number.isInteger(topPages) || topPages < 1 || topPages > STATS_LIMITS.maxTopPages) {
    throw new StatsInputError('topPages', `must be an integer from 1 to ${STATS_LIMITS.maxTopPages}`);
  }
  const page =
    filters.page === undefined
      ? undefined
      : filters.page.endsWith('*')
        ? { value: filters.page.slice(0, -1), prefix: true }
        : { value: filters.page, prefix: false };
  if (page?.prefix) {
    const { rows } = await db.query<{ page: string }>(
      'SELECT DISTINCT page FROM agg_page_action WHERE starts_with(page, $1)',
      [page.value],
    );
    (page as { pages?: string[] }).pages = rows.map((r) => r.page);
  }
  return {
    userId: filters.userId,
    role: filters.role,
    action: filters.action,
    page,
    from: timeOf('from', filters.from),
    to: timeOf('to', filters.to),
    tz: await validateTimeZone(pool, opts.tz ?? 'UTC'),
    topPages,
  };
}

export const dimsOf = (f: Normalized): Dim[] =>
  [
    f.userId !== undefined && ('user' as const),
    f.role !== undefined && ('role' as const),
    f.action !== undefined && ('action' as const),
    f.page !== undefined && ('page' as const),
  ].filter((d): d is Dim => d !== false);

export const timeFiltered = (f: Normalized) => f.from !== null || f.to !== null;

export function checkSpan(first: number, last: number): void {
  // Two extra days of slack for zone offsets; the exact count is checked against the day list.
  if ((last - first) / 86_400_000 > STATS_LIMITS.maxDays + 2) {
    throw new StatsInputError('from', `the daily series may span at most ${STATS_LIMITS.maxDays} days`);
  }
}
