export * from './api-hits.js';
export * from './app.js';
export * from './auth.js';
export * from './errors.js';
export * from './health.js';
export * from './metrics.js';
export * from './strict-input.js';
