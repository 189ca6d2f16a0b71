export * from './zk-client.js';
export * from './znode-layout.js';
