export * from './client.js';
export * from './partitioner.js';
export * from './producer.js';
export * from './producer-thread.js';
export * from './serde.js';
export * from './topics.js';
