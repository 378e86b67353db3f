import { createHash } from 'node:crypto';
import type { InteractionFilters } from '@tracker/db';
import { HttpError } from '@tracker/http';
import { LIMITS, parseDateTime, type Role } from '@tracker/schemas';

/** The filter fields of a validated query string. */
export interface FilterQuery {
  userId?: string | undefined;
  role?: string | undefined;
  action?: string | undefined;
  page?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** Digits of a fraction of a second past the milliseconds, when any of them is not 0. */
const SUB_MS = /:\d\d\.\d{3}\d*[1-9]/;

/**
 * The instant of a `from`/`to` bound. Times are stored in milliseconds and Date drops finer digits;
 * an instant between two milliseconds is moved up to the next one, so that `from` (inclusive) and
 * `to` (exclusive) still select exactly the rows at or after, and before, the instant asked for.
 */
export function parseInstant(value: string, field: string, source: FilterSource = 'querystring'): Date {
  const date = new Date(parseDateTime(value));
  // The schema already checked RFC 3339; this catches what Date cannot hold (leap second 60), and
  // years before 1, which PostgreSQL cannot read in this form (`0000-01-01` was a 500).
  const refused = Number.isNaN(date.getTime())
    ? 'is not a representable instant'
    : date.getTime() < YEAR_1
      ? 'is before the year 1 (no event can be that old)'
      : undefined;
  if (refused) {
    throw new HttpError(400, 'VALIDATION_FAILED', `invalid ${source}`, [
      { path: `${source}.${field}`, message: refused },
    ]);
  }
  return SUB_MS.test(value) ? new Date(date.getTime() + 1) : date;
}

const YEAR_1 = Date.parse('0001-01-01T00:00:00Z');

/** Where a request's filters came from: the field paths of its 400s start with it. */
export type FilterSource = 'querystring' | 'body';

/** Query-string (or body) filters -> the InteractionFilters contract; 400 when from is not before to. */
export function toFilters(query: FilterQuery, source: FilterSource = 'querystring'): InteractionFilters {
  const filters: InteractionFilters = {};
  if (query.userId !== undefined) filters.userId = query.userId;
  if (query.role !== undefined) filters.role = query.role.toUpperCase() as Role;
  if (query.action !== undefined) filters.action = query.action.toLowerCase();
  if (query.page !== undefined) {
    const prefix = query.page.endsWith('*');
    if (!prefix && query.page.length > LIMITS.page) {
      throw new HttpError(400, 'VALIDATION_FAILED', `invalid ${source}`, [
        { path: `${source}.page`, message: `must NOT have more than ${LIMITS.page} characters` },
      ]);
    }
    filters.page = query.page;
  }
  if (query.from !== undefined) filters.from = parseInstant(query.from, 'from', source);
  if (query.to !== undefined) filters.to = parseInstant(query.to, 'to', source);
  if (filters.from && filters.to && filters.from.getTime() >= filters.to.getTime()) {
    throw new HttpError(400, 'VALIDATION_FAILED', `invalid ${source}`, [
      { path: `${source}.to`, message: 'must be after from' },
    ]);
  }
  return filters;
}

/** `page` as SQL and JS read it: exact, or a prefix when it ends with `*`. */
export function pageMatch(page: string): { prefix: boolean; value: string } {
  return page.endsWith('*') ? { prefix: true, value: page.slice(0, -1) } : { prefix: false, value: page };
}

/** A stored row as the live stream sees it, for matching against one client's filters. */
export interface MatchableRow {
  userId: string;
  role: string;
  action: string;
  page: string;
  occurredAt: Date;
}

/** The JS twin of the SQL filter (interactions.repository.ts), for the live stream. */
export function matches(row: MatchableRow, filters: InteractionFilters): boolean {
  if (filters.userId !== undefined && row.userId !== filters.userId) return false;
  if (filters.role !== undefined && row.role !== filters.role) return false;
  if (filters.action !== undefined && row.action !== filters.action) return false;
  if (filters.page !== undefined) {
    const { prefix, value } = pageMatch(filters.page);
    if (prefix ? !row.page.startsWith(value) : row.page !== value) return false;
  }
  const t = row.occurredAt.getTime();
  if (filters.from && t < filters.from.getTime()) return false;
  if (filters.to && t >= filters.to.getTime()) return false;
  return true;
}

/** A stable short fingerprint of a filter set (cursors are bound to it; caches are keyed by it). */
export function filtersKey(filters: InteractionFilters): string {
  const canonical = JSON.stringify([
    filters.userId ?? null,
    filters.role ?? null,
    filters.action ?? null,
    filters.page ?? null,
    filters.from?.getTime() ?? null,
    filters.to?.getTime() ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 12);
}
