import { describe, expect, it } from 'vitest';
import { manualExecutionId, scheduledExecutionId, timeOrderedUuid, uuidV5 } from './occurrence.js';

describe('occurrence identity', () => {
  it('derives the same execution id for the same task and nominal instant, anywhere', () => {
    // Pinned: changing the derivation splits history and worker idempotency at the upgrade
    // (done once, from UUIDv5 to the time-ordered UUIDv8: docs/ARCHITECTURE.md, "Identities").
    expect(scheduledExecutionId('nightly-report', Date.parse('2026-06-01T03:00:00Z'))).toBe(
      scheduledExecutionId('nightly-report', 1780282800000),
    );
    expect(scheduledExecutionId('nightly-report', 1780282800000)).toMatchInlineSnapshot(
      `"019e811f-b780-813d-8cba-d7210136d543"`,
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
    expect(manualExecutionId('t', 'r')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('makes scheduled ids RFC 9562 version-8 UUIDs that start with the nominal instant and sort by it', () => {
    const nominal = Date.parse('2026-06-01T03:00:00Z');
    const id = scheduledExecutionId('t', nominal);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(nominal);
    // The rest is the name's SHA-1, as in a UUIDv5 of the same name (but for the version nibble).
    const v5 = uuidV5(`scheduled|t|${nominal}`).replaceAll('-', '');
    expect(id.replaceAll('-', '').slice(13)).toBe(v5.slice(13));
    // String order (and byte order) is instant order, whatever the tasks.
    const instants = [0, 1, 999, 1000, nominal - 1, nominal, nominal + 1, 2 ** 47 + 3];
    const ids = instants.map((ms, i) => scheduledExecutionId(`task-${instants.length - i}`, ms));
    expect([...ids].sort()).toEqual(ids);
    expect(timeOrderedUuid(-5, 'x').startsWith('00000000-0000-8')).toBe(true);
  });
});
