export * from './interaction.js';
export * from './topics.js';
