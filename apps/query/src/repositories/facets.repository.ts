import type { pg } from '@tracker/db';
import { ROLES } from '@tracker/schemas';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export const FACETS = ['users', 'roles', 'actions', 'pages'] as const;
export type Facet = (typeof FACETS)[number];

export interface FacetValue {
  value: string;
  count: number;
}

export type Facets = Record<Facet, FacetValue[]>;

/** Case-insensitive substring test, without LIKE wildcards to escape. */
const CONTAINS = (column: string, param: string) => `strpos(lower(${column}), lower(${param})) > 0`;
/** Values that start with the search text come before those that merely contain it. */
const PREFIX_FIRST = (column: string, param: string) => `starts_with(lower(${column}), lower(${param})) DESC`;

async function users(db: Queryable, q: string | undefined, limit: number): Promise<FacetValue[]> {
  const params: unknown[] = [limit];
  let where = '';
  if (q !== undefined) {
    params.push(q);
    where = `WHERE ${CONTAINS('user_id', '$2')}`;
  }
  const { rows } = await db.query<FacetValue>(
    `SELECT user_id AS value, action_count AS count FROM users ${where}
     ORDER BY ${q === undefined ? '' : `${PREFIX_FIRST('user_id', '$2')}, `}action_count DESC, user_id COLLATE "C"
     LIMIT $1`,
    params,
  );
  return rows;
}

async function roles(db: Queryable, q: string | undefined): Promise<FacetValue[]> {
  const { rows } = await db.query<{ role: string; n: number }>(
    'SELECT role, count(*) AS n FROM users GROUP BY role',
  );
  const counts = new Map(rows.map((r) => [r.role, Number(r.n)]));
  // Every role, most frequent first (ties by name), like the other facets.
  return ROLES.filter((role) => q === undefined || role.toLowerCase().includes(q.toLowerCase()))
    .map((role) => ({ value: role, count: counts.get(role) ?? 0 }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
}

/** Actions or pages with their all-time counts, from agg_page_action (one row per page, role, action). */
async function fromPageActions(
  db: Queryable,
  column: 'action' | 'page',
  q: string | undefined,
  limit: number,
): Promise<FacetValue[]> {
  const params: unknown[] = [limit];
  let where = '';
  if (q !== undefined) {
    params.push(q);
    where = `WHERE ${CONTAINS(column, '$2')}`;
  }
  const { rows } = await db.query<FacetValue>(
    `SELECT ${column} AS value, sum(n)::bigint AS count FROM agg_page_action ${where}
     GROUP BY ${column}
     ORDER BY ${q === undefined ? '' : `${PREFIX_FIRST(column, '$2')}, `}count DESC, ${column} COLLATE "C" LIMIT $1`,
    params,
  );
  return rows;
}

/** The values of the wanted facets (others empty), most frequent first. */
export async function readFacets(
  db: Queryable,
  wanted: readonly Facet[],
  { q, limit }: { q: string | undefined; limit: number },
): Promise<Facets> {
  const want = new Set(wanted);
  const [u, r, a, p] = await Promise.all([
    want.has('users') ? users(db, q, limit) : [],
    want.has('roles') ? roles(db, q) : [],
    want.has('actions') ? fromPageActions(db, 'action', q, limit) : [],
    want.has('pages') ? fromPageActions(db, 'page', q, limit) : [],
  ]);
  return { users: u, roles: r, actions: a, pages: p };
}
