import { hash } from 'node:crypto';
import { type EpochMs } from './instant.js';

/**
 * One id per occurrence. A scheduled fire is identified by its task and nominal instant,
 * so every scheduler that ever computes it derives the same execution id: it travels as
 * the worker's Idempotency-Key and is the unique key in history. Fencing makes duplicates
 * rare; the id makes the rare one harmless.
 *
 * Ids are RFC 9562 name-based UUIDs (version 5, SHA-1) under a fixed nono namespace.
 */
const NONO_NAMESPACE = 'a0a9d5bb-5a37-4b8e-9d0c-6e6f6e6f0001';
const namespaceBytes = new Map<string, Buffer>();

export function scheduledExecutionId(taskId: string, nominal: EpochMs): string {
  return uuidV5(`scheduled|${taskId}|${nominal}`);
}

/** A manual trigger has its own id, derived from the trigger request so a retried request stays one fire. */
export function manualExecutionId(taskId: string, triggerRequestId: string): string {
  return uuidV5(`manual|${taskId}|${triggerRequestId}`);
}

/** Three of these per fire: the namespace is decoded once and hashed with the name in one call. */
export function uuidV5(name: string, namespace: string = NONO_NAMESPACE): string {
  let ns = namespaceBytes.get(namespace);
  if (ns === undefined)
    namespaceBytes.set(namespace, (ns = Buffer.from(namespace.replaceAll('-', ''), 'hex')));
  const input = Buffer.allocUnsafe(ns.length + Buffer.byteLength(name));
  ns.copy(input, 0);
  input.write(name, ns.length, 'utf8');
  const digest = hash('sha1', input, 'buffer');
  digest[6] = ((digest[6] ?? 0) & 0x0f) | 0x50;
  digest[8] = ((digest[8] ?? 0) & 0x3f) | 0x80;
  const hex = digest.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
