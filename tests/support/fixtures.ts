import { inject } from 'vitest';
import { type Isolation, isolateOn } from './isolation.js';

export { type Isolation, createIsolatedTopics, eventually, isolateOn } from './isolation.js';

/** Gives a test file its own ZooKeeper chroot and topic prefix on the servers the global setup provides. */
export async function isolate(label: string): Promise<Isolation> {
  return isolateOn(label, inject('zkConnect'), inject('kafkaBrokers'));
}
