export * from './kafka.js';
export * from './kafka-security.js';
export * from './topics.js';
export * from './execution-outcomes.js';
