import type { InteractionFilters, Prisma, PrismaClient } from '@tracker/db';
import type { Role } from '@tracker/schemas';
import type { Cursor } from '../cursor.js';
import { pageMatch } from '../filters.js';

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

/** The columns of a stored interaction that the API shows, as Prisma Client and the export read them. */
export interface InteractionRow {
  eventId: string;
  userId: string;
  role: Role;
  action: string;
  page: string;
  occurredAt: Date;
  receivedAt: Date;
  properties: unknown;
  sessionId: string | null;
}

const ITEM_SELECT = {
  eventId: true,
  userId: true,
  role: true,
  action: true,
  page: true,
  occurredAt: true,
  receivedAt: true,
  properties: true,
  sessionId: true,
} as const satisfies Prisma.InteractionSelect;

/** The same columns for the export's own SQL, named like Prisma's fields. */
const ITEM_COLUMNS = `event_id AS "eventId", user_id AS "userId", role, action, page, occurred_at AS "occurredAt",
  received_at AS "receivedAt", properties, session_id AS "sessionId"`;

export function toItem(row: InteractionRow): InteractionItem {
  return {
    eventId: row.eventId,
    userId: row.userId,
    role: row.role,
    action: row.action,
    page: row.page,
    occurredAt: row.occurredAt.toISOString(),
    receivedAt: row.receivedAt.toISOString(),
    properties: (row.properties ?? {}) as InteractionItem['properties'],
    sessionId: row.sessionId,
  };
}

/** LIKE's wildcards and escape character in `text`, escaped: a page prefix matches literally. */
const likeLiteral = (text: string) => text.replace(/[\\%_]/g, '\\$&');

/** The filters as a Prisma where clause. The live stream applies the same rules in JS (filters.ts `matches`). */
export function interactionWhere(filters: InteractionFilters): Prisma.InteractionWhereInput {
  const where: Prisma.InteractionWhereInput = {};
  if (filters.userId !== undefined) where.userId = filters.userId;
  if (filters.role !== undefined) where.role = filters.role;
  if (filters.action !== undefined) where.action = filters.action;
  if (filters.page !== undefined) {
    const { prefix, value } = pageMatch(filters.page);
    where.page = prefix ? { startsWith: likeLiteral(value) } : value;
  }
  if (filters.from || filters.to) {
    where.occurredAt = {
      ...(filters.from ? { gte: filters.from } : {}),
      ...(filters.to ? { lt: filters.to } : {}),
    };
  }
  return where;
}

/**
 * SQL conditions for the same filters, every value a bound parameter appended to `params`: the
 * export reads through a cursor of its own (own-connection), outside Prisma Client.
 */
function filterConditions(filters: InteractionFilters, params: unknown[]): string[] {
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
 * Rows past a keyset position, in (occurred_at, event_id) order. The `lte`/`gte` on occurred_at alone
 * is what bounds the index scan; the OR settles ties on the same millisecond.
 */
function keysetWhere(cursor: Cursor, backwards: boolean): Prisma.InteractionWhereInput {
  const op = backwards ? 'gt' : 'lt';
  return {
    occurredAt: backwards ? { gte: cursor.occurredAt } : { lte: cursor.occurredAt },
    OR: [{ occurredAt: { [op]: cursor.occurredAt } }, { eventId: { [op]: cursor.eventId } }],
  };
}

/**
 * One page in newest-first order (occurred_at desc, event_id desc: event_id breaks ties), by keyset:
 * the cost does not grow with the depth of the page. A `prev` cursor reads ascending from its
 * position and reverses, so the page comes back in the same order as going forward.
 */
export async function listInteractions(
  prisma: PrismaClient,
  filters: InteractionFilters,
  limit: number,
  cursor: Cursor | undefined,
): Promise<Page> {
  const backwards = cursor?.direction === 'prev';
  const dir = backwards ? 'asc' : 'desc';
  const rows: InteractionRow[] = await prisma.interaction.findMany({
    select: ITEM_SELECT,
    where: cursor
      ? { AND: [interactionWhere(filters), keysetWhere(cursor, backwards)] }
      : interactionWhere(filters),
    orderBy: [{ occurredAt: dir }, { eventId: dir }],
    take: limit + 1,
  });
  const more = rows.length > limit;
  const pageRows = rows.slice(0, limit);
  if (backwards) pageRows.reverse();
  const first = pageRows[0];
  const last = pageRows.at(-1);
  const key = (r: InteractionRow) => ({ occurredAt: r.occurredAt, eventId: r.eventId });
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
  storedAt: Date;
}

/**
 * Rows stored at or after `since` (oldest first), for the live stream. `stored_at` is the storing
 * transaction's start time, so a caller re-reads an overlap window and drops the ids it has seen.
 */
export async function storedSince(
  prisma: PrismaClient,
  since: Date,
  limit: number,
  afterEventId?: string,
): Promise<StoredRow[]> {
  return prisma.interaction.findMany({
    select: { ...ITEM_SELECT, storedAt: true },
    where:
      afterEventId === undefined
        ? { storedAt: { gte: since } }
        : { storedAt: { gte: since }, OR: [{ storedAt: { gt: since } }, { eventId: { gt: afterEventId } }] },
    orderBy: [{ storedAt: 'asc' }, { eventId: 'asc' }],
    take: limit,
  });
}
