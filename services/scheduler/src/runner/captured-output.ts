import { type CapturedOutput } from '@nono/domain';

/** The longest UTF-8 sequence: a cut body may end inside one, which is not a reason for base64. */
const MAX_UTF8_SEQUENCE = 4;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * What is kept of a worker's answer: the first `kept` bytes of the body (`total` is the size of
 * the whole body as received) and the chosen headers that are present. The body is UTF-8 text
 * when those bytes are, else base64 of them; a text body cut inside a multi-byte character
 * keeps the whole characters before the cut (and says truncated), instead of turning to base64.
 */
export function capturedOutput(
  kept: Uint8Array,
  total: number,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  headerNames: readonly string[],
): CapturedOutput {
  const truncated = total > kept.length;
  const text = utf8Text(kept, truncated);
  const chosen: Record<string, string> = {};
  for (const name of headerNames) {
    const lower = name.toLowerCase();
    const value = headers[lower];
    if (value !== undefined) chosen[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  return text === undefined
    ? {
        body: Buffer.from(kept).toString('base64'),
        encoding: 'base64',
        bytes: total,
        truncated,
        headers: chosen,
      }
    : { body: text, encoding: 'utf8', bytes: total, truncated, headers: chosen };
}

function utf8Text(bytes: Uint8Array, cut: boolean): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    if (!cut) return undefined;
  }
  // Only the bytes of an unfinished last character may be dropped.
  for (let drop = 1; drop < MAX_UTF8_SEQUENCE && drop <= bytes.length; drop++) {
    try {
      return strictUtf8.decode(bytes.subarray(0, bytes.length - drop));
    } catch {
      // try one byte fewer
    }
  }
  return undefined;
}
