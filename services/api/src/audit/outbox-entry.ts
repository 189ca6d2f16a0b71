import { type NonoEvent, parseEvent } from '@nono/domain';

/**
 * One audit event waiting to be published, stored as a persistent-sequential znode
 * `<root>/outbox/e-<seq>`. It is written BEFORE the change it describes (ZooKeeper's
 * client here has no multi-op), so an entry alone proves nothing: `committed` says the
 * writer saw its change succeed. An entry left uncommitted (the writer crashed or lost its
 * connection) is judged by the relay against the task's state; see outbox-verdict.ts.
 */
export interface OutboxEntry {
  readonly event: NonoEvent;
  /** Epoch ms when staged, by the API's clock: how the relay tells in-flight from orphaned. */
  readonly stagedAt: number;
  readonly committed: boolean;
}

export function outboxRoot(zkRoot: string): string {
  return `${zkRoot}/outbox`;
}

export const OUTBOX_PREFIX = 'e-';

export function encodeOutboxEntry(entry: OutboxEntry): string {
  return JSON.stringify(entry);
}

export function decodeOutboxEntry(data: Buffer): OutboxEntry | undefined {
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
  const candidate = json as { event?: unknown; stagedAt?: unknown; committed?: unknown } | null;
  if (
    candidate === null ||
    typeof candidate.stagedAt !== 'number' ||
    typeof candidate.committed !== 'boolean'
  )
    return undefined;
  const event = parseEvent(candidate.event);
  return event.ok
    ? { event: event.value, stagedAt: candidate.stagedAt, committed: candidate.committed }
    : undefined;
}
