import { hash } from 'node:crypto';
import { type EpochMs } from './instant.js';

/**
 * One id per occurrence. A scheduled fire is identified by its task and nominal instant,
 * so every scheduler that ever computes it derives the same execution id: it travels as
 * the worker's Idempotency-Key and is the unique key in history. Fencing makes duplicates
 * rare; the id makes the rare one harmless.
 *
 * A scheduled execution id is an RFC 9562 UUIDv8 that starts with its nominal instant (48
 * bits of epoch milliseconds, as in UUIDv7) followed by 74 bits of the SHA-1 name hash
 * (as in UUIDv5) under a fixed nono namespace: still derived, so the same everywhere, and
 * ordered by instant, so every index keyed by it (history's executions and attempts, a
 * worker's idempotency store) takes new ids near its right edge instead of at a random
 * page. Other ids (manual triggers, event ids) are UUIDv5.
 */
const NONO_NAMESPACE = 'a0a9d5bb-5a37-4b8e-9d0c-6e6f6e6f0001';
const namespaceBytes = new Map<string, Buffer>();

export function scheduledExecutionId(taskId: string, nominal: EpochMs): string {
  return timeOrderedUuid(nominal, `scheduled|${taskId}|${nominal}`);
}

/** A manual trigger has its own id, derived from the trigger request so a retried request stays one fire. */
export function manualExecutionId(taskId: string, triggerRequestId: string): string {
  return uuidV5(`manual|${taskId}|${triggerRequestId}`);
}

/** Three of these per fire: the namespace is decoded once and hashed with the name in one call. */
export function uuidV5(name: string, namespace: string = NONO_NAMESPACE): string {
  const digest = nameDigest(name, namespace);
  digest[6] = ((digest[6] ?? 0) & 0x0f) | 0x50;
  digest[8] = ((digest[8] ?? 0) & 0x3f) | 0x80;
  return formatUuid(digest);
}

/** Largest instant the 48-bit prefix holds (year 10889); schedules never come near it. */
const MAX_PREFIX_MS = 2 ** 48 - 1;

/**
 * Writes `ms` as 6 big-endian bytes at the start of `target` (clamped to 0…2^48-1): the
 * prefix that orders a key by instant, in time-ordered ids and in history's fact keys.
 */
export function writeInstantPrefix(target: Buffer, ms: EpochMs): void {
  target.writeUIntBE(Math.min(Math.max(0, Math.trunc(ms)), MAX_PREFIX_MS), 0, 6);
}

/**
 * UUIDv8: `ms` in the first 48 bits (big-endian), then the version, 12 bits of the name's
 * SHA-1, the variant and 62 more bits of it: 74 bits of hash tell apart the names of one
 * millisecond.
 */
export function timeOrderedUuid(ms: EpochMs, name: string, namespace: string = NONO_NAMESPACE): string {
  const digest = nameDigest(name, namespace);
  writeInstantPrefix(digest, ms);
  digest[6] = ((digest[6] ?? 0) & 0x0f) | 0x80;
  digest[8] = ((digest[8] ?? 0) & 0x3f) | 0x80;
  return formatUuid(digest);
}

/**
 * The hash input is assembled in one buffer kept for the next call (three ids per fire): the
 * namespace bytes, then the name. Grown, never shrunk, when a name is longer than it.
 */
let digestInput = Buffer.alloc(256);
let digestInputNamespace = '';

function nameDigest(name: string, namespace: string): Buffer {
  if (namespace !== digestInputNamespace) {
    let ns = namespaceBytes.get(namespace);
    if (ns === undefined)
      namespaceBytes.set(namespace, (ns = Buffer.from(namespace.replaceAll('-', ''), 'hex')));
    ns.copy(digestInput, 0);
    digestInputNamespace = namespace;
  }
  const needed = 16 + Buffer.byteLength(name);
  if (needed > digestInput.length) {
    const grown = Buffer.alloc(Math.max(needed, 2 * digestInput.length));
    digestInput.copy(grown, 0, 0, 16);
    digestInput = grown;
  }
  const end = 16 + digestInput.write(name, 16, 'utf8');
  return hash('sha1', digestInput.subarray(0, end), 'buffer');
}

const HEX_PAIRS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** 8-4-4-4-12 lower-case hex, from a lookup per byte rather than a hex string cut in five. */
function formatUuid(bytes: Buffer): string {
  const h = (i: number): string => HEX_PAIRS[bytes[i] ?? 0] as string;
  return (
    h(0) +
    h(1) +
    h(2) +
    h(3) +
    '-' +
    h(4) +
    h(5) +
    '-' +
    h(6) +
    h(7) +
    '-' +
    h(8) +
    h(9) +
    '-' +
    h(10) +
    h(11) +
    h(12) +
    h(13) +
    h(14) +
    h(15)
  );
}
