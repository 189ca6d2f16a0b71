export * from './env-reader.js';
export * from './logger.js';
export * from './ops-server.js';
export * from './shutdown.js';
export * from './target-policy-config.js';
export * from './method-not-allowed.js';
export * from './route-docs.js';
export * from './command-line.js';
