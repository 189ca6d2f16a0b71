import { outboxEntryDocument } from '../documents/index.js';
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

/** The outbox's parent znode (ZnodeLayout.outbox for the default layout). */
export function outboxRoot(zkRoot: string): string {
  return `${zkRoot}/outbox`;
}

export const OUTBOX_PREFIX = 'e-';

export function encodeOutboxEntry(entry: OutboxEntry): Buffer {
  return outboxEntryDocument.encode(entry);
}

/** Undefined when the entry or its event does not parse (see outbox-verdict.ts for what becomes of it). */
export function decodeOutboxEntry(data: Buffer): OutboxEntry | undefined {
  const parsed = outboxEntryDocument.parse(data);
  if (!parsed.ok) return undefined;
  const event = parseEvent(parsed.value.event);
  return event.ok
    ? { event: event.value, stagedAt: parsed.value.stagedAt, committed: parsed.value.committed }
    : undefined;
}
