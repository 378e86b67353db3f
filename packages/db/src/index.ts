export * from './api-hits.js';
export * from './client.js';
export * from './migrate.js';
export type * from './stats-types.js';
