import { type ActiveHealth, ManualClock } from '@nono/domain';
import { createLogger } from '@nono/runtime';
import { describe, expect, it } from 'vitest';
import { MemberHealth } from './member-health.js';
import { MemberProber, type ProbeTarget } from './member-prober.js';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const policy: ActiveHealth = {
  path: '/healthz',
  intervalMs: 1_000,
  timeoutMs: 200,
  unhealthyAfter: 2,
  healthyAfter: 2,
};
const A = 'http://127.0.0.1:7761';
const B = 'http://127.0.0.1:7762';

/** A prober over members A and B whose probes answer from `verdicts` (undefined: passed). */
function setup() {
  const clock = new ManualClock(T0);
  const health = new MemberHealth();
  const verdicts = new Map<string, string | undefined>();
  const probed: string[] = [];
  let targets: ProbeTarget[] = [
    { group: 'g', url: A, policy },
    { group: 'g', url: B, policy },
  ];
  const prober = new MemberProber({
    targets: () => targets,
    health,
    clock,
    log: createLogger('test', 'silent'),
    random: () => 0,
    probe: (url) => {
      probed.push(url);
      return Promise.resolve(verdicts.get(url));
    },
  });
  /** One interval on: a tick, and the probes it started answered. */
  const step = async () => {
    clock.advance(policy.intervalMs);
    prober.tick();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    clock,
    health,
    verdicts,
    probed,
    prober,
    step,
    setTargets: (next: ProbeTarget[]) => (targets = next),
  };
}

describe('MemberProber', () => {
  it("probes each member's health path once per interval, the first within the first interval", async () => {
    const { prober, probed, step } = setup();
    prober.tick(); // schedules the first probes (random 0: at once)
    expect(probed).toEqual([]);
    await step();
    await step();
    expect(probed).toEqual([`${A}/healthz`, `${B}/healthz`, `${A}/healthz`, `${B}/healthz`]);
  });

  it('takes a member out after unhealthyAfter failed probes and back after healthyAfter passed', async () => {
    const { prober, health, verdicts, step, clock } = setup();
    prober.tick();
    verdicts.set(`${B}/healthz`, 'health probe answered HTTP 503');
    await step();
    expect(health.isOut('g', B, clock.now())).toBe(false);
    await step();
    expect(health.isOut('g', B, clock.now())).toBe(true);
    expect(health.isOut('g', A, clock.now())).toBe(false);
    // Out until probes pass, however long that takes (not for a back-off period).
    await step();
    await step();
    clock.advance(60_000);
    expect(health.isOut('g', B, clock.now())).toBe(true);
    expect(health.ejections(clock.now())).toEqual([
      expect.objectContaining({
        group: 'g',
        url: B,
        cause: 'probe',
        failures: 4,
        lastError: 'health probe answered HTTP 503',
      }),
    ]);
    verdicts.delete(`${B}/healthz`);
    await step();
    expect(health.isOut('g', B, clock.now())).toBe(true);
    await step();
    expect(health.isOut('g', B, clock.now())).toBe(false);
    expect(health.ejections(clock.now())).toEqual([]);
  });

  it('forgets what probes said of a member that left the group', async () => {
    const { prober, health, verdicts, step, clock, setTargets } = setup();
    prober.tick();
    verdicts.set(`${B}/healthz`, 'health probe failed: connect ECONNREFUSED');
    await step();
    await step();
    expect(health.isOut('g', B, clock.now())).toBe(true);
    setTargets([{ group: 'g', url: A, policy }]);
    prober.tick();
    expect(health.isOut('g', B, clock.now())).toBe(false);
  });

  it('a member out by its calls and by probes is listed once for each', async () => {
    const { prober, health, verdicts, step, clock } = setup();
    prober.tick();
    verdicts.set(`${A}/healthz`, 'health probe answered HTTP 500');
    await step();
    await step();
    health.failed('g', A, 'HTTP 500', { consecutiveFailures: 1, backoffMs: 5_000 }, clock.now());
    expect(
      health
        .ejections(clock.now())
        .map((e) => e.cause)
        .sort(),
    ).toEqual(['passive', 'probe']);
    // The call-side back-off ends; probes still keep it out.
    clock.advance(5_001);
    expect(health.isOut('g', A, clock.now())).toBe(true);
  });
});
