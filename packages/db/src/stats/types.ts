import type { Role } from '@tracker/schemas';

/**
 * Filters shared by /api/interactions, /api/stats and /api/export. All optional, all combinable.
 * `page` is exact, or a prefix when it ends with `*` (`/docs/*` matches every page under /docs/).
 * `from` is inclusive, `to` exclusive.
 */
export interface InteractionFilters {
  userId?: string;
  role?: Role;
  action?: string;
  page?: string;
  from?: Date;
  to?: Date;
}

export interface StatsOptions {
  /** IANA time zone for the daily series. Default UTC. */
  tz?: string;
  /** How many pages pageRanking lists. Default 10. */
  topPages?: number;
}

/**
 * Dashboard statistics. Definitions (README "Statistics"):
 * - totalActions: interactions matching the filters.
 * - population: the known users matching the user-level filters (userId; role = the user's current
 *   role; first seen before `to`), plus every user with a matching interaction.
 * - totalUsers: size of the population. usersWithActions: users with at least one matching interaction.
 * - actionsPerUser: totalActions / usersWithActions (0 when none).
 * - gini: Gini coefficient of matching-interaction counts over the population, zeros included
 *   (0 = even; towards 1 = one user does everything; 0 when there are no actions).
 * - apiHits: requests served by ingest and query (not filtered).
 * - byAction: counts per action, largest first. pageRanking: the top pages, largest first.
 * - daily: one entry per calendar day in `tz` from the first day (from, else first matching
 *   interaction, but at most 3 700 days before the last) to the last (to, else the last matching
 *   interaction), gaps filled with 0.
 * - roleDistribution: population users per current role, every role listed.
 */
export interface Stats {
  totalActions: number;
  totalUsers: number;
  usersWithActions: number;
  actionsPerUser: number;
  gini: number;
  apiHits: number;
  byAction: { action: string; count: number }[];
  daily: { date: string; count: number }[];
  pageRanking: { page: string; count: number }[];
  roleDistribution: { role: Role; users: number }[];
}
