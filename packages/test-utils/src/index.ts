export * from './database.js';
export * from './factories.js';
export * from './kafka.js';
export * from './private-kafka.js';
export * from './services.js';
export * from './stack.js';
export * from './tcp-proxy.js';
export * from './wait.js';
