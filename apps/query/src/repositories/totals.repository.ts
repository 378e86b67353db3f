import type { InteractionFilters, pg } from '@tracker/db';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/**
 * The number of interactions matching `filters` when an aggregate table answers it with an index
 * lookup, else undefined (the API then leaves `total` out rather than count raw rows):
 * - no filters, or only userId: the per-user counters in `users`.
 */
export async function countInteractions(
  db: Queryable,
  filters: InteractionFilters,
): Promise<number | undefined> {
  const keys = Object.entries(filters)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
  if (keys.length === 1 && keys[0] === 'userId') {
    const { rows } = await db.query<{ n: number }>('SELECT action_count AS n FROM users WHERE user_id = $1', [
      filters.userId,
    ]);
    return Number(rows[0]?.n ?? 0);
  }
  return undefined;
}
