export * from './api-token.js';
export * from './assignment.js';
export * from './document.js';
export * from './fire-state.js';
export * from './member.js';
export * from './open-executions-record.js';
export * from './outbox-entry.js';
export * from './trigger-request.js';
