import { randomBytes } from 'node:crypto';
import { ZkClient } from '@nono/coordination';
import { createKafka, ensureTopics, type TopicNames, topicNames } from '@nono/events';

/**
 * Per-test-file isolation on shared servers: a private ZooKeeper chroot and Kafka topic
 * prefix. Free of vitest, so bench scripts use it too.
 */
export interface Isolation {
  readonly name: string;
  /** host:port/chroot: a connect string whose "/" is this file's private subtree. */
  readonly zkConnect: string;
  readonly zkServers: string;
  readonly kafkaBrokers: string[];
  readonly topicPrefix: string;
  readonly topics: TopicNames;
}

export async function isolateOn(label: string, zkServers: string, kafkaBrokers: string): Promise<Isolation> {
  const name = `${label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${randomBytes(4).toString('hex')}`;
  const root = await ZkClient.connect({ connect: zkServers, sessionTimeoutMs: 10_000 });
  try {
    await root.ensurePath(`/nono-tests/${name}`);
  } finally {
    root.close();
  }
  const topicPrefix = `t.${name}.`;
  return {
    name,
    zkConnect: `${zkServers}/nono-tests/${name}`,
    zkServers,
    kafkaBrokers: kafkaBrokers.split(','),
    topicPrefix,
    topics: topicNames(topicPrefix),
  };
}

export async function createIsolatedTopics(isolation: Isolation, partitions = 3): Promise<void> {
  await ensureTopics(
    createKafka({ brokers: isolation.kafkaBrokers, clientId: `test-${isolation.name}` }),
    isolation.topics,
    { partitions },
  );
}

/**
 * Deletes an isolation's ZooKeeper subtree and Kafka topics. Benchmarks call it when done:
 * 10,000 tasks and their fire states left behind per run once filled the dev ZooKeeper's heap.
 */
export async function dropIsolation(isolation: Isolation): Promise<void> {
  const root = await ZkClient.connect({ connect: isolation.zkServers, sessionTimeoutMs: 10_000 });
  try {
    await root.deleteTree(`/nono-tests/${isolation.name}`);
  } finally {
    root.close();
  }
  const admin = createKafka({ brokers: isolation.kafkaBrokers, clientId: `drop-${isolation.name}` }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: Object.values(isolation.topics) }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** Polls every `intervalMs` until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  what = 'condition',
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
