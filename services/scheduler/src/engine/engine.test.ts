import {
  ManualClock,
  type NonoEvent,
  type SchedulerTask,
  createTask,
  parseTaskSpec,
  scheduledExecutionId,
  uuidV5,
} from '@nono/domain';
import { createLogger } from '@nono/runtime';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemberHealth } from '../groups/member-health.js';
import { MemberRouter } from '../groups/member-router.js';
import { OpenExecutions } from '../lost/open-executions.js';
import { createSchedulerMetrics } from '../metrics.js';
import { MemoryFence, MemoryRecords, MemoryTriggers, RecordingInvoker } from '../testing/memory-ports.js';
import { Engine } from './engine.js';

/*
 * The engine's timing decisions with a manual clock and an in-memory fence. What the fence
 * proves against a real ZooKeeper (exactly once across processes, failover, SIGSTOP) is in
 * tests/scheduler; these pin down when a claim happens and what a claimed instant does.
 */
const T0 = Date.parse('2026-06-01T00:00:00Z');
const LEAD = 300;

function everyMs(everyMs: number, overrides: Record<string, unknown> = {}): SchedulerTask {
  const spec = parseTaskSpec(
    {
      name: 't',
      schedule: { kind: 'interval', everyMs },
      target: { url: 'http://127.0.0.1/' },
      ...overrides,
    },
    T0,
  );
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  return createTask('t', spec.value, T0);
}

/** Lets the engine's promise chains (fence reads and claims) run to completion. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface EngineSetup {
  readonly startAt?: number;
  readonly schedulerId?: string;
  /** Shared by engines that play schedulers of one cluster. */
  readonly clock?: ManualClock;
  readonly fence?: MemoryFence;
  readonly records?: MemoryRecords;
  readonly triggers?: MemoryTriggers;
  /** The live scheduler ids and the process behind each (default: none but this engine). */
  readonly live?: ReadonlyMap<string, string>;
  readonly excludedBy?: (calendars: readonly string[] | undefined, nominal: number) => string | undefined;
  readonly router?: MemberRouter;
}

async function startEngine(task: SchedulerTask, setup: EngineSetup = {}) {
  const schedulerId = setup.schedulerId ?? 's1';
  const clock = setup.clock ?? new ManualClock(setup.startAt ?? T0 + 100);
  const fence = setup.fence ?? new MemoryFence();
  const records = setup.records ?? new MemoryRecords();
  const triggers = setup.triggers ?? new MemoryTriggers();
  const invoker = new RecordingInvoker(clock);
  const events: NonoEvent[] = [];
  const log = createLogger('scheduler-test', 'silent');
  const openExecutions = new OpenExecutions({
    schedulerId,
    store: records,
    clock,
    log,
    flushIntervalMs: 200,
    eventsDurable: () => Promise.resolve(),
  });
  const engine = new Engine({
    schedulerId,
    clock,
    fence,
    invoker,
    events: { append: (batch) => events.push(...batch), written: () => Promise.resolve(true) },
    openExecutions,
    log,
    metrics: createSchedulerMetrics(new Registry()),
    misfireThresholdMs: 5_000,
    claimLeadMs: LEAD,
    finishFlushDelayMs: 1_500,
    lostGraceMs: 2_000,
    triggers,
    liveIncarnation: (id) => Promise.resolve(setup.live?.get(id)),
    ...(setup.excludedBy === undefined ? {} : { excludedBy: setup.excludedBy }),
    ...(setup.router === undefined ? {} : { router: setup.router }),
  });
  engine.setActive(true);
  engine.setOwned(new Set([task.id]));
  engine.updateTask(task.id, task);
  await settle();
  // In 10 ms steps, so what a settled claim arms runs at its own instant, as with a real clock.
  const advanceTo = async (at: number): Promise<void> => {
    do {
      clock.advanceTo(Math.min(at, clock.now() + 10));
      await settle();
    } while (clock.now() < at);
  };
  return { clock, fence, records, triggers, invoker, events, engine, openExecutions, advanceTo };
}

const typesOf = (events: readonly NonoEvent[]): string[] => events.map((e) => e.type);

describe('Engine: shard and broadcast instants', () => {
  const membersAB = () =>
    new MemberRouter({
      directory: {
        lookup: () => ({
          passiveHealth: { consecutiveFailures: 3, backoffMs: 30_000 },
          members: [
            { url: 'http://a', source: 'static' },
            { url: 'http://b', source: 'static' },
          ],
        }),
      },
      health: new MemberHealth(),
    });

  it('claims a shard instant whole: one fence write lists every shard; each is called once, shard i at member i mod 2', async () => {
    const task = everyMs(1_000, { target: { group: 'g', route: 'shard', shards: 4, path: '/p' } });
    const { fence, invoker, events, advanceTo } = await startEngine(task, { router: membersAB() });
    await advanceTo(T0 + 1_100);
    const instant = scheduledExecutionId(task.id, T0 + 1_000);
    const claim = fence.claims.find((state) =>
      Object.keys(state.inflight).some((id) => id.startsWith(instant)),
    );
    expect(
      Object.entries(claim?.inflight ?? {})
        .filter(([id]) => id.startsWith(instant))
        .map(([id, entry]) => [id, entry.instantId, entry.shard]),
    ).toEqual([0, 1, 2, 3].map((i) => [`${instant}.shard-${i}`, instant, { index: i, count: 4 }]));
    const calls = invoker.requests.filter((call) => call.nominal === T0 + 1_000);
    expect(calls.map((call) => [call.executionId, call.url, call.shard?.index])).toEqual([
      [`${instant}.shard-0`, 'http://a/p', 0],
      [`${instant}.shard-1`, 'http://b/p', 1],
      [`${instant}.shard-2`, 'http://a/p', 2],
      [`${instant}.shard-3`, 'http://b/p', 3],
    ]);
    const succeeded = events.filter(
      (e) =>
        e.type === 'nono.execution.succeeded.v1' && (e.data as { instantId?: string }).instantId === instant,
    );
    expect(succeeded.map((e) => (e.data as { shard?: { index: number } }).shard?.index)).toEqual([
      0, 1, 2, 3,
    ]);
  });

  it('sends a broadcast instant to every member once, each its own execution', async () => {
    const task = everyMs(1_000, { target: { group: 'g', route: 'broadcast' } });
    const { invoker, advanceTo } = await startEngine(task, { router: membersAB() });
    await advanceTo(T0 + 1_100);
    const instant = scheduledExecutionId(task.id, T0 + 1_000);
    const calls = invoker.requests.filter((call) => call.nominal === T0 + 1_000);
    expect(calls.map((call) => call.url).sort()).toEqual(['http://a', 'http://b']);
    expect(new Set(calls.map((call) => call.executionId)).size).toBe(2);
    expect(calls.every((call) => call.executionId.startsWith(`${instant}.member-`))).toBe(true);
  });
});

describe('Engine: exclusion calendars', () => {
  it('records an excluded instant as skipped (calendar) and calls the worker for the others', async () => {
    const task = { ...everyMs(1_000), calendars: ['maintenance'] };
    // The instants of the second and third seconds fall on an excluded "date".
    const excludedBy = (calendars: readonly string[] | undefined, nominal: number) =>
      calendars?.includes('maintenance') === true && (nominal === T0 + 2_000 || nominal === T0 + 3_000)
        ? 'maintenance'
        : undefined;
    const { invoker, events, advanceTo } = await startEngine(task, { excludedBy });
    await advanceTo(T0 + 4_500);
    expect(invoker.calls.map((call) => call.nominal)).toEqual([T0 + 1_000, T0 + 4_000]);
    const skipped = events.filter((event) => event.type === 'nono.execution.skipped.v1');
    expect(
      skipped.map((event) => [event.data.nominalTime, (event.data as { skipReason: string }).skipReason]),
    ).toEqual([
      [new Date(T0 + 2_000).toISOString(), 'calendar'],
      [new Date(T0 + 3_000).toISOString(), 'calendar'],
    ]);
    expect((skipped[0]?.data as { detail: string }).detail).toBe('excluded by calendar maintenance');
  });
});

describe('Engine: claims ahead, fires on the instant', () => {
  it('claims an instant the lead time before it, and calls the worker at the instant itself', async () => {
    const { fence, invoker, events, advanceTo } = await startEngine(everyMs(1_000));
    await advanceTo(T0 + 1_000 - LEAD - 1);
    expect(fence.claims).toHaveLength(0);

    await advanceTo(T0 + 1_000 - LEAD);
    expect(fence.claims.map((c) => c.lastNominal)).toEqual([T0 + 1_000]);
    expect(fence.claims[0]?.inflight[scheduledExecutionId('t', T0 + 1_000)]).toMatchObject({
      schedulerId: 's1',
      startedAt: T0 + 1_000,
    });
    expect(invoker.calls).toHaveLength(0);

    await advanceTo(T0 + 1_000);
    expect(invoker.calls).toEqual([{ nominal: T0 + 1_000, at: T0 + 1_000 }]);
    const fired = events.find((e) => e.type === 'nono.execution.fired.v1');
    expect(fired?.type === 'nono.execution.fired.v1' && fired.data.lateMs).toBe(0);
  });

  it('a task paused after its instant was claimed does not fire it, and records the skip', async () => {
    const task = everyMs(1_000);
    const { engine, fence, invoker, events, advanceTo } = await startEngine(task);
    await advanceTo(T0 + 1_000 - LEAD);
    expect(fence.claims).toHaveLength(1);
    engine.updateTask(task.id, { ...task, paused: true });
    await advanceTo(T0 + 5_000);
    expect(invoker.calls).toHaveLength(0);
    expect(fence.claims).toHaveLength(2); // the skipped execution leaves the fire state, nothing is claimed
    expect(fence.claims[1]?.inflight).toEqual({});
    const skipped = events.find((e) => e.type === 'nono.execution.skipped.v1');
    expect(skipped?.type === 'nono.execution.skipped.v1' && skipped.data.skipReason).toBe('paused');
  });

  it('never starts a claimed instant past the deadline it wrote: a new owner may have run it as lost', async () => {
    const task = everyMs(10_000, { target: { url: 'http://127.0.0.1/', timeoutMs: 1_000 } });
    const { clock, invoker, events, advanceTo } = await startEngine(task);
    await advanceTo(T0 + 10_000 - LEAD);
    clock.set(T0 + 10_000 + 1_000); // frozen across the instant and its whole 1 s budget
    await advanceTo(T0 + 10_000 + 1_000);
    expect(invoker.calls.map((c) => c.nominal)).not.toContain(T0 + 10_000);
    const missed = events.find((e) => e.type === 'nono.execution.misfired.v1');
    expect(missed?.type === 'nono.execution.misfired.v1' && missed.data.action).toBe('skip');
  });

  it('a claimed instant reached late (an overloaded process) follows the misfire policy', async () => {
    for (const [policy, fires] of [
      ['fire-once', true],
      ['skip', false],
    ] as const) {
      const { clock, invoker, events, advanceTo } = await startEngine(
        everyMs(60_000, { misfire: { policy } }),
      );
      await advanceTo(T0 + 60_000 - LEAD);
      clock.set(T0 + 60_000 + 6_000); // past the 5 s misfire threshold, well within the 30 s budget
      await advanceTo(T0 + 60_000 + 6_000);
      expect(invoker.calls.map((c) => c.nominal)).toEqual(fires ? [T0 + 60_000] : []);
      const missed = events.find((e) => e.type === 'nono.execution.misfired.v1');
      expect(missed?.type === 'nono.execution.misfired.v1' && missed.data.action).toBe(
        fires ? 'fire' : 'skip',
      );
    }
  });

  it('a released task still fires what it claimed (nobody else can), and claims nothing more', async () => {
    const task = everyMs(1_000);
    const { engine, fence, invoker, advanceTo } = await startEngine(task);
    await advanceTo(T0 + 1_000 - LEAD);
    engine.setOwned(new Set());
    await advanceTo(T0 + 4_000);
    expect(invoker.calls).toEqual([{ nominal: T0 + 1_000, at: T0 + 1_000 }]);
    // One claim, then the finished execution is taken off the fire state for the next owner.
    expect(fence.claims.map((c) => Object.keys(c.inflight).length)).toEqual([1, 0]);
  });

  it('says how far behind it is when a stall delays a start, and forgets it once healthy again', async () => {
    const { engine, clock, advanceTo } = await startEngine(everyMs(1_000));
    await advanceTo(T0 + 1_000);
    expect(engine.behindMs).toBe(0);
    await advanceTo(T0 + 2_000 - LEAD);
    clock.set(T0 + 2_000 + 1_500); // a stall across the instant, within the misfire threshold
    await advanceTo(T0 + 2_000 + 1_500);
    expect(engine.behindMs).toBe(1_500);
    await advanceTo(T0 + 30_000);
    expect(engine.behindMs).toBe(0);
  });

  it('overlap is decided at the instant, not at the claim: a call that ends in between does not cause a skip', async () => {
    const { invoker, events, advanceTo } = await startEngine(everyMs(1_000, { overlap: 'skip' }));
    invoker.callMs = 800; // still running when the next instant is claimed, done before it falls due
    await advanceTo(T0 + 3_000);
    expect(invoker.calls.map((c) => c.nominal)).toEqual([T0 + 1_000, T0 + 2_000, T0 + 3_000]);
    expect(typesOf(events)).not.toContain('nono.execution.skipped.v1');
  });
});

describe('Engine: what a dead scheduler left in the fire state', () => {
  const task = everyMs(10_000, { target: { url: 'http://127.0.0.1/', timeoutMs: 1_000 } });
  const instant = T0 + 10_000;
  const executionId = scheduledExecutionId('t', instant);

  /** Scheduler s1 runs up to `diesAt` on its own clock, then stops (its timers never run again). */
  async function s1RunsUntil(diesAt: number, callMs = 0) {
    const s1 = await startEngine(task);
    s1.invoker.callMs = callMs;
    await s1.advanceTo(diesAt);
    return s1;
  }

  async function s2TakesOver(s1: Awaited<ReturnType<typeof s1RunsUntil>>, schedulerId = 's2') {
    return startEngine(task, {
      schedulerId,
      startAt: s1.clock.now(),
      fence: s1.fence,
      records: s1.records,
    });
  }

  it('an execution its record says ended is taken off, not reported lost', async () => {
    const s1 = await s1RunsUntil(instant + 600);
    expect(s1.invoker.calls.map((c) => c.nominal)).toEqual([instant]);
    // Finished, still listed (no second write), and the record says so.
    expect(Object.keys(s1.fence.state('t').state.inflight)).toEqual([executionId]);
    expect(s1.records.records.get('s1')?.open).toEqual([]);

    const s2 = await s2TakesOver(s1);
    await s2.advanceTo(instant + 10_000);
    expect(typesOf(s2.events)).not.toContain('nono.execution.lost.v1');
    expect(s2.invoker.calls.map((c) => c.nominal)).toEqual([instant + 10_000]);
    // It rode on s2's claim of the next instant.
    expect(Object.keys(s2.fence.claims.at(-1)?.inflight ?? {})).toEqual([
      scheduledExecutionId('t', instant + 10_000),
    ]);
  });

  it('an execution still open in the record is reported lost after its deadline', async () => {
    const s1 = await s1RunsUntil(instant + 600, 5_000);
    const { deadlineAt, seq } = s1.fence.state('t').state.inflight[executionId]!;
    expect(s1.records.records.get('s1')?.open).toEqual([[seq, seq]]);

    const s2 = await s2TakesOver(s1);
    await s2.advanceTo(deadlineAt + 2_000 - 10);
    expect(typesOf(s2.events)).not.toContain('nono.execution.lost.v1');
    await s2.advanceTo(deadlineAt + 2_000 + 20);
    const lost = s2.events.find((e) => e.type === 'nono.execution.lost.v1');
    expect(lost?.type === 'nono.execution.lost.v1' && lost.data).toMatchObject({
      executionId,
      lostSchedulerId: 's1',
    });
  });

  it('an entry held by a live process past its deadline is left to it; a live id that is another process is not', async () => {
    for (const [sameProcess, reported] of [
      [true, false],
      [false, true],
    ] as const) {
      const s1 = await s1RunsUntil(instant + 600, 5_000);
      const live = new Map([['s1', sameProcess ? s1.openExecutions.incarnation : 'restarted']]);
      const s2 = await startEngine(task, {
        schedulerId: 's2',
        startAt: s1.clock.now(),
        fence: s1.fence,
        records: s1.records,
        live,
      });
      await s2.advanceTo(instant + 9_000);
      expect(typesOf(s2.events).includes('nono.execution.lost.v1')).toBe(reported);
    }
  });

  it('upgrading from UUIDv5 execution ids: a call left under its old id is lost and re-run under it, never fired under a new one', async () => {
    const rerunning = everyMs(10_000, {
      target: { url: 'http://127.0.0.1/', timeoutMs: 1_000 },
      rerunLost: true,
    });
    const s1 = await startEngine(rerunning);
    s1.invoker.callMs = 5_000; // still running when s1 dies
    await s1.advanceTo(instant + 600);
    // What a scheduler from before the change left: the same entry, under the UUIDv5 id it derived.
    const legacyId = uuidV5(`scheduled|t|${instant}`);
    const left = s1.fence.state('t');
    const entry = left.state.inflight[executionId]!;
    await s1.fence.write('t', left.version, { ...left.state, inflight: { [legacyId]: entry } });

    const s2 = await startEngine(rerunning, {
      schedulerId: 's2',
      startAt: s1.clock.now(),
      fence: s1.fence,
      records: s1.records,
    });
    await s2.advanceTo(instant + 20_000);
    const idsOf = (type: string): string[] =>
      s2.events.filter((e) => e.type === type).map((e) => (e.data as { executionId: string }).executionId);
    expect(idsOf('nono.execution.lost.v1')).toEqual([legacyId]);
    // The re-run of the instant, and only it, under the old id; later instants under new ones.
    expect(s2.invoker.calls.map((c) => c.nominal)).toEqual([instant, instant + 10_000, instant + 20_000]);
    expect(idsOf('nono.execution.fired.v1')).toEqual([
      legacyId,
      scheduledExecutionId('t', instant + 10_000),
      scheduledExecutionId('t', instant + 20_000),
    ]);
    expect(idsOf('nono.execution.fired.v1')).not.toContain(executionId);
  });

  it('a claim made after the last record (or with no record at all) counts as possibly running', async () => {
    const s1 = await s1RunsUntil(instant - LEAD + 50); // claimed, the record not yet written
    expect(s1.records.records.has('s1')).toBe(false);
    const s2 = await s2TakesOver(s1);
    await s2.advanceTo(instant + 5_000);
    expect(s2.events.filter((e) => e.type === 'nono.execution.lost.v1')).toHaveLength(1);
  });

  it('a restart under the same scheduler id judges what the previous process left by its record', async () => {
    const s1 = await s1RunsUntil(instant + 600);
    const again = await s2TakesOver(s1, 's1');
    expect(again.openExecutions.incarnation).not.toBe(s1.openExecutions.incarnation);
    await again.advanceTo(instant + 5_000);
    expect(typesOf(again.events)).not.toContain('nono.execution.lost.v1');
  });
});
