import { type KeysetPosition } from '../store/history-queries.js';
import { impossibleQuery } from './problem.js';

/**
 * Opaque page cursors: base64url JSON of the last row's (instant, id). Opaque so the
 * ordering can change without breaking clients' assumptions; validated on the way in
 * because it is client input like any other.
 */
export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): KeysetPosition | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw impossibleQuery([{ field: 'cursor', message: 'not a cursor returned by this API' }]);
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== 'string'
  ) {
    throw impossibleQuery([{ field: 'cursor', message: 'not a cursor returned by this API' }]);
  }
  return { at: parsed[0] as number, id: parsed[1] };
}
