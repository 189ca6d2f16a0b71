export * from './kafka.js';
export * from './topics.js';
