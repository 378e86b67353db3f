// '@tracker/db/testing': references for tests and benchmarks, never imported by production code
// (testing/entry.test.ts fails when a service or package source does).
export { computeStatsFromRaw } from './recount.js';
