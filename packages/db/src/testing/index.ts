// '@tracker/db/testing': references for tests and benchmarks, never imported by production code
// (testing/entry.test.ts fails when a service or package source does).
export { computeStatsFromRaw } from './recount.js';
export {
  byTime,
  localDay,
  matchesStep,
  type Period,
  percentileDisc,
  periodIndex,
  type RawEvent,
  rawEventOf,
  type StepDef,
} from './reports/events.js';
export { type FunnelDef, type FunnelResult, funnel } from './reports/funnel.js';
export { type RetentionDef, type RetentionRow, retention } from './reports/retention.js';
export {
  type Session,
  type SessionOptions,
  type SessionStats,
  sessionStats,
  sessionsOf,
} from './reports/sessions.js';
