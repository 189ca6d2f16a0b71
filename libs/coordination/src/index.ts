export * from './zk-client.js';
export * from './znode-layout.js';
export * from './documents/index.js';
export * from './secret-box.js';
