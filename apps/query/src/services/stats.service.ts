import {
  chooseSource,
  type Dim,
  type InteractionFilters,
  type pg,
  type Stats,
  StatsInputError,
  type StatsOptions,
  validateTimeZone,
} from '@tracker/db';
import { HttpError } from '@tracker/http';
import type { FilterSource } from '../filters.js';
import { filtersKey } from '../filters.js';

export type ComputeStats = (pool: pg.Pool, filters: InteractionFilters, opts: StatsOptions) => Promise<Stats>;

/** The query-string name of a StatsOptions/InteractionFilters field. */
const PARAM: Record<string, string> = { topPages: 'top' };

/** StatsInputError (bad filter or option, nothing queried) -> 400 at the query-string (or body) field. */
export function asHttpError(error: unknown, source: FilterSource = 'querystring'): unknown {
  if (error instanceof StatsInputError) {
    return new HttpError(400, 'VALIDATION_FAILED', `invalid ${source}`, [
      { path: `${source}.${PARAM[error.field] ?? error.field}`, message: error.message },
    ]);
  }
  return error;
}

/** Stats for a request: packages/db's computeStats, its input errors as 400s. */
export async function statsFor(
  compute: ComputeStats,
  pool: pg.Pool,
  filters: InteractionFilters,
  opts: Required<StatsOptions>,
): Promise<Stats> {
  try {
    return await compute(pool, filters, opts);
  } catch (error) {
    throw asHttpError(error);
  }
}

/** The canonical IANA name of `tz` as PostgreSQL knows it, or a 400 at querystring.tz (body.tz). */
export async function checkTimeZone(
  pool: pg.Pool,
  tz: string,
  source: FilterSource = 'querystring',
): Promise<string> {
  try {
    return await validateTimeZone(pool, tz);
  } catch (error) {
    throw asHttpError(error, source);
  }
}

/** True when an aggregate table (not raw rows) counts the interactions matching `filters`. */
export function aggregatesCover(filters: InteractionFilters): boolean {
  const dims: Dim[] = [];
  if (filters.userId !== undefined) dims.push('user');
  if (filters.role !== undefined) dims.push('role');
  if (filters.action !== undefined) dims.push('action');
  if (filters.page !== undefined) dims.push('page');
  return !chooseSource(dims, filters.from !== undefined || filters.to !== undefined, 'none').raw;
}

/**
 * Stats shared between live streams with the same filters: one computation per filter set and
 * interval, however many dashboards watch it.
 */
export class SharedStats {
  #entries = new Map<string, { at: number; value: Promise<Stats> }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly compute: ComputeStats,
    private readonly maxAgeMs: number,
  ) {}

  get(filters: InteractionFilters, opts: Required<StatsOptions>): Promise<Stats> {
    const key = `${filtersKey(filters)}|${opts.tz}|${opts.topPages}`;
    const now = Date.now();
    const hit = this.#entries.get(key);
    if (hit && now - hit.at < this.maxAgeMs) return hit.value;
    const value = statsFor(this.compute, this.pool, filters, opts);
    this.#entries.set(key, { at: now, value });
    value.catch(() => this.#entries.delete(key));
    if (this.#entries.size > 1000) {
      for (const [k, e] of this.#entries) if (now - e.at >= this.maxAgeMs) this.#entries.delete(k);
    }
    return value;
  }
}
