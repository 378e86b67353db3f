export * from './aggregates.js';
export * from './api-hits.js';
export * from './client.js';
export * from './migrate.js';
export * from './reconcile.js';
export * from './stats.js';
export * from './stats-pipeline.js';
export * from './stats-plan.js';
export type * from './stats-types.js';
