export * from './bookkeeping.js';
export * from './bookkeeping-schema.js';
export * from './event-key.js';
export * from './open-database.js';
export * from './stored-offset-consumer.js';
export * from './table-codec.js';
