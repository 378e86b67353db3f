import { Prisma, type PrismaClient } from '@tracker/db';
import { ROLES } from '@tracker/schemas';

export const FACETS = ['users', 'roles', 'actions', 'pages'] as const;
export type Facet = (typeof FACETS)[number];

export interface FacetValue {
  value: string;
  count: number;
}

export type Facets = Record<Facet, FacetValue[]>;

/** Case-insensitive substring test, without LIKE wildcards to escape. */
const contains = (column: Prisma.Sql, q: string) => Prisma.sql`strpos(lower(${column}), lower(${q})) > 0`;
/** Values that start with the search text come before those that merely contain it. */
const prefixFirst = (column: Prisma.Sql, q: string) =>
  Prisma.sql`starts_with(lower(${column}), lower(${q})) DESC,`;

// NOTE: facets order by an expression (prefix matches first) and by byte order (COLLATE "C", the
// same whatever the database's locale), which Prisma's orderBy cannot say: they stay SQL through
// $queryRaw. Counts are cast to float8: Prisma reads int8 as bigint.
async function users(prisma: PrismaClient, q: string | undefined, limit: number): Promise<FacetValue[]> {
  const column = Prisma.raw('user_id');
  const where = q === undefined ? Prisma.empty : Prisma.sql`WHERE ${contains(column, q)}`;
  const first = q === undefined ? Prisma.empty : prefixFirst(column, q);
  return prisma.$queryRaw<FacetValue[]>`
    SELECT user_id AS value, action_count::float8 AS count FROM users ${where}
     ORDER BY ${first} action_count DESC, user_id COLLATE "C" LIMIT ${limit}`;
}

async function roles(prisma: PrismaClient, q: string | undefined): Promise<FacetValue[]> {
  const rows = await prisma.user.groupBy({ by: ['role'], _count: { _all: true } });
  const counts = new Map<string, number>(rows.map((r) => [r.role, r._count._all]));
  // Every role, most frequent first (ties by name), like the other facets.
  return ROLES.filter((role) => q === undefined || role.toLowerCase().includes(q.toLowerCase()))
    .map((role) => ({ value: role, count: counts.get(role) ?? 0 }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
}

/** Actions or pages with their all-time counts, from agg_page_action (one row per page, role, action). */
async function fromPageActions(
  prisma: PrismaClient,
  name: 'action' | 'page',
  q: string | undefined,
  limit: number,
): Promise<FacetValue[]> {
  const column = Prisma.raw(name);
  const where = q === undefined ? Prisma.empty : Prisma.sql`WHERE ${contains(column, q)}`;
  const first = q === undefined ? Prisma.empty : prefixFirst(column, q);
  return prisma.$queryRaw<FacetValue[]>`
    SELECT ${column} AS value, sum(n)::float8 AS count FROM agg_page_action ${where}
     GROUP BY ${column}
     ORDER BY ${first} count DESC, ${column} COLLATE "C" LIMIT ${limit}`;
}

/** The values of the wanted facets (others empty), most frequent first. */
export async function readFacets(
  prisma: PrismaClient,
  wanted: readonly Facet[],
  { q, limit }: { q: string | undefined; limit: number },
): Promise<Facets> {
  const want = new Set(wanted);
  const [u, r, a, p] = await Promise.all([
    want.has('users') ? users(prisma, q, limit) : [],
    want.has('roles') ? roles(prisma, q) : [],
    want.has('actions') ? fromPageActions(prisma, 'action', q, limit) : [],
    want.has('pages') ? fromPageActions(prisma, 'page', q, limit) : [],
  ]);
  return { users: u, roles: r, actions: a, pages: p };
}
