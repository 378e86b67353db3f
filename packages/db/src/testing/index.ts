// '@tracker/db/testing': references for tests and benchmarks, never imported by production code
// (testing/entry.test.ts fails when a service or package source does).
export { computeStatsFromRaw } from './recount.js';
export {
  byTime,
  type FunnelDef,
  type FunnelResult,
  funnel,
  localDay,
  matchesStep,
  type Period,
  percentileDisc,
  periodIndex,
  type RawEvent,
  type RetentionDef,
  type RetentionRow,
  rawEventOf,
  retention,
  type Session,
  type SessionOptions,
  type SessionStats,
  type StepDef,
  sessionStats,
  sessionsOf,
} from './reports.js';
