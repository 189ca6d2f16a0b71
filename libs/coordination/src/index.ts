export * from './zk-client.js';
export * from './znode-layout.js';
export * from './documents/index.js';
export * from './outbox/outbox-entry.js';
export * from './outbox/zk-outbox.js';
