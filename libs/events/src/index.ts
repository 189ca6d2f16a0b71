export * from './kafka.js';
export * from './topics.js';
export * from './execution-outcomes.js';
