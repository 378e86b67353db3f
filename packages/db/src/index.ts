// The package's public API. Test-only helpers (the raw-recount oracle) are in '@tracker/db/testing'.
export {
  AGGREGATE_TABLES,
  AGGREGATES,
  type AggregateDef,
  BUCKET_ORIGIN_MS,
  CUM_PERIOD_DAYS,
  CUM_PERIOD_SLOTS,
  CUM_SLOT_MS,
  GRAIN,
  MAX_PREFIX_DEPTH,
  TIME_TABLES,
  USER_COLUMNS,
  USER_CUM_PARTS,
  USERS_FROM_RAW,
} from './aggregates/catalog.js';
export { rebuildAggregates } from './aggregates/rebuild.js';
export * from './aggregates/reconcile.js';
export * from './aggregates/rows.js';
export { fillSessions, refreshSessions } from './aggregates/sessions.js';
export * from './aggregates/store.js';
export * from './api-hits.js';
export * from './client.js';
export * from './migrate.js';
export * from './own-connection.js';
export * from './pg-array.js';
export * from './pipeline-status.js';
export { type FunnelAttempt, type FunnelQuery, funnelAttempts } from './reports/funnel.js';
export {
  type FunnelReport,
  type FunnelStepStats,
  type FunnelUnitStatus,
  funnelReport,
  funnelUnits,
} from './reports/funnel-report.js';
export {
  periodStartDate,
  type RetentionQuery,
  type RetentionTable,
  retentionTable,
} from './reports/retention-table.js';
export { type SessionStatsQuery, type SessionStatsResult, sessionStats } from './reports/session-stats.js';
export {
  DEFAULT_SESSION_RULES,
  SESSION_GAP_MINUTES,
  type SessionQuery,
  type SessionRow,
  type SessionRules,
  sessionEventColumns,
  sessionRulesOf,
  sessionsOfUsers,
  sessionsSql,
} from './reports/sessions.js';
export type { Step } from './reports/step.js';
export * from './retention.js';
export * from './snapshot.js';
export * from './sql-state.js';
export { computeStats, countInteractions } from './stats/compute.js';
export { STATS_LIMITS, StatsInputError, validateTimeZone } from './stats/input.js';
export * from './stats/plan.js';
export { statsSessionSettings } from './stats/session.js';
export { pgTime } from './stats/sql.js';
export type * from './stats/types.js';
export * from './transaction.js';
