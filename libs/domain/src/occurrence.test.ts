import { describe, expect, it } from 'vitest';
import { manualExecutionId, scheduledExecutionId, uuidV5 } from './occurrence.js';

describe('occurrence identity', () => {
  it('derives the same execution id for the same task and nominal instant, anywhere', () => {
    // Pinned: changing the derivation would split history and break worker idempotency.
    expect(scheduledExecutionId('nightly-report', Date.parse('2026-06-01T03:00:00Z'))).toBe(
      scheduledExecutionId('nightly-report', 1780282800000),
    );
    expect(scheduledExecutionId('nightly-report', 1780282800000)).toMatchInlineSnapshot(
      `"0b3a8e40-bd6b-513d-8cba-d7210136d543"`,
    );
  });

  it('gives different occurrences different ids', () => {
    const ids = new Set([
      scheduledExecutionId('a', 1000),
      scheduledExecutionId('a', 2000),
      scheduledExecutionId('b', 1000),
      manualExecutionId('a', 'req-1'),
      manualExecutionId('a', 'req-2'),
    ]);
    expect(ids.size).toBe(5);
  });

  it('produces RFC 9562 version-5 UUIDs (known vector)', () => {
    // The DNS namespace example from RFC 9562 appendix: "www.example.com".
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    expect(scheduledExecutionId('t', 1)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
