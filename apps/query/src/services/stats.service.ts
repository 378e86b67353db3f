import type { InteractionFilters, pg, Stats, StatsOptions } from '@tracker/db';
import * as db from '@tracker/db';
import { HttpError } from '@tracker/http';
import { filtersKey } from '../filters.js';

export type ComputeStats = (pool: pg.Pool, filters: InteractionFilters, opts: StatsOptions) => Promise<Stats>;

/** Time zones PostgreSQL knows (what the daily series is computed with), lower-cased, loaded once. */
export class TimeZones {
  #names: Promise<Set<string>> | undefined;

  constructor(private readonly pool: pg.Pool) {}

  #load(): Promise<Set<string>> {
    this.#names ??= this.pool
      .query<{ name: string }>('SELECT name FROM pg_timezone_names')
      .then(({ rows }) => new Set(rows.map((r) => r.name.toLowerCase())))
      .catch((error) => {
        this.#names = undefined;
        throw error;
      });
    return this.#names;
  }

  /**
   * The zone when it is an IANA name both ICU (the browser's view of days) and PostgreSQL know;
   * 400 otherwise. Abbreviations and POSIX strings PostgreSQL would also take (`EST`, `UTC+3`) are
   * refused: their meaning differs between the two.
   */
  async validate(tz: string, field = 'querystring.tz'): Promise<string> {
    let known = false;
    try {
      known = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone.length > 0;
    } catch {
      known = false;
    }
    const pgKnows = (await this.#load()).has(tz.toLowerCase());
    const ianaShaped = tz === 'UTC' || tz.includes('/');
    if (!known || !pgKnows || !ianaShaped) {
      throw new HttpError(400, 'VALIDATION_FAILED', 'invalid querystring', [
        { path: field, message: 'is not a known IANA time zone (e.g. UTC, Europe/Berlin, Asia/Kolkata)' },
      ]);
    }
    return tz;
  }
}

/** The stats implementation packages/db exports (from the aggregate tables). */
export function defaultComputeStats(): ComputeStats {
  const fn = (db as unknown as { computeStats?: ComputeStats }).computeStats;
  if (!fn) {
    return async () => {
      throw new HttpError(503, 'STATS_UNAVAILABLE', 'statistics are not available in this build');
    };
  }
  return fn;
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
    const value = this.compute(this.pool, filters, opts);
    this.#entries.set(key, { at: now, value });
    value.catch(() => this.#entries.delete(key));
    if (this.#entries.size > 1000) {
      for (const [k, e] of this.#entries) if (now - e.at >= this.maxAgeMs) this.#entries.delete(k);
    }
    return value;
  }
}
