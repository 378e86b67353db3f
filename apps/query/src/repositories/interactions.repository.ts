import type { InteractionFilters, pg } from '@tracker/db';
import type { Role } from '@tracker/schemas';
import type { Cursor } from '../cursor.js';
import { pageMatch } from '../filters.js';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** One stored interaction as the API shows it. */
export interface InteractionItem {
  eventId: string;
  userId: string;
  role: Role;
  action: string;
  page: string;
  occurredAt: string;
  receivedAt: string;
  properties: Record<string, string | number | boolean>;
  sessionId: string | null;
}

export interface InteractionRow {
  event_id: string;
  user_id: string;
  role: Role;
  action: string;
  page: string;
  occurred_at: Date;
  received_at: Date;
  properties: Record<string, string | number | boolean>;
  session_id: string | null;
}

export const ITEM_COLUMNS =
  'event_id, user_id, role, action, page, occurred_at, received_at, properties, session_id';

export function toItem(row: InteractionRow): InteractionItem {
  return {
    eventId: row.event_id,
    userId: row.user_id,
    role: row.role,
    action: row.action,
    page: row.page,
    occurredAt: row.occurred_at.toISOString(),
    receivedAt: row.received_at.toISOString(),
    properties: row.properties ?? {},
    sessionId: row.session_id,
  };
}

/**
 * SQL conditions for the filters over `interactions`, every value a bound parameter appended to
 * `params`. The live stream applies the same rules in JS (filters.ts `matches`).
 */
export function filterConditions(filters: InteractionFilters, params: unknown[]): string[] {
  const where: string[] = [];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filters.userId !== undefined) where.push(`user_id = ${bind(filters.userId)}`);
  if (filters.role !== undefined) where.push(`role = ${bind(filters.role)}::"Role"`);
  if (filters.action !== undefined) where.push(`action = ${bind(filters.action)}`);
  if (filters.page !== undefined) {
    const { prefix, value } = pageMatch(filters.page);
    where.push(prefix ? `starts_with(page, ${bind(value)})` : `page = ${bind(value)}`);
  }
  if (filters.from) where.push(`occurred_at >= ${bind(filters.from)}`);
  if (filters.to) where.push(`occurred_at < ${bind(filters.to)}`);
  return where;
}

export interface Page {
  items: InteractionItem[];
  /** Position after the last item, when older rows exist. */
  next: { occurredAt: Date; eventId: string } | null;
  /** Position before the first item, when newer rows may exist. */
  prev: { occurredAt: Date; eventId: string } | null;
}

/**
 * One page in newest-first order (occurred_at desc, event_id desc: event_id breaks ties), by keyset:
 * the cost does not grow with the depth of the page. A `prev` cursor reads ascending from its
 * position and reverses, so the page comes back in the same order as going forward.
 */
export async function listInteractions(
  db: Queryable,
  filters: InteractionFilters,
  limit: number,
  cursor: Cursor | undefined,
): Promise<Page> {
  const params: unknown[] = [];
  const where = filterConditions(filters, params);
  const backwards = cursor?.direction === 'prev';
  if (cursor) {
    params.push(cursor.occurredAt, cursor.eventId);
    const op = backwards ? '>' : '<';
    where.push(`(occurred_at, event_id) ${op} ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(limit + 1);
  const order = backwards ? 'occurred_at ASC, event_id ASC' : 'occurred_at DESC, event_id DESC';
  const { rows } = await db.query<InteractionRow>(
    `SELECT ${ITEM_COLUMNS} FROM interactions
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY ${order} LIMIT $${params.length}`,
    params,
  );
  const more = rows.length > limit;
  const pageRows = rows.slice(0, limit);
  if (backwards) pageRows.reverse();
  const first = pageRows[0];
  const last = pageRows.at(-1);
  const key = (r: InteractionRow) => ({ occurredAt: r.occurred_at, eventId: r.event_id });
  let next: Page['next'] = null;
  let prev: Page['prev'] = null;
  if (backwards) {
    // Going back: older rows exist (at least the cursor's own row); newer ones when the read overflowed.
    next = last ? key(last) : cursor ? { occurredAt: cursor.occurredAt, eventId: cursor.eventId } : null;
    prev = more && first ? key(first) : null;
  } else {
    next = more && last ? key(last) : null;
    // Forward from a cursor: the rows before this page are the ones newer than its first row.
    if (cursor) prev = first ? key(first) : { occurredAt: cursor.occurredAt, eventId: cursor.eventId };
  }
  return { items: pageRows.map(toItem), next, prev };
}

/** The export query: every matching row, newest first, optionally capped. */
export function exportQuery(
  filters: InteractionFilters,
  maxRows?: number,
): { text: string; values: unknown[] } {
  const params: unknown[] = [];
  const where = filterConditions(filters, params);
  let limit = '';
  if (maxRows !== undefined) {
    params.push(maxRows);
    limit = ` LIMIT $${params.length}`;
  }
  return {
    text: `SELECT ${ITEM_COLUMNS} FROM interactions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY occurred_at DESC, event_id DESC${limit}`,
    values: params,
  };
}

export interface StoredRow extends InteractionRow {
  stored_at: Date;
}

/**
 * Rows stored at or after `since` (oldest first), for the live stream. `stored_at` is the storing
 * transaction's start time, so a caller re-reads an overlap window and drops the ids it has seen.
 */
export async function storedSince(
  db: Queryable,
  since: Date,
  limit: number,
  afterEventId?: string,
): Promise<StoredRow[]> {
  const position = afterEventId === undefined ? 'stored_at >= $1' : '(stored_at, event_id) > ($1, $3::uuid)';
  const { rows } = await db.query<StoredRow>(
    `SELECT ${ITEM_COLUMNS}, stored_at FROM interactions
     WHERE ${position} ORDER BY stored_at ASC, event_id ASC LIMIT $2`,
    afterEventId === undefined ? [since, limit] : [since, limit, afterEventId],
  );
  return rows;
}
