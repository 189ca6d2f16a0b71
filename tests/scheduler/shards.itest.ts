import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ZkClient } from '@nono/coordination';
import { type NonoEvent } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, apiRequest, startApiProcess } from '../support/api.js';
import {
  type SchedulerProcess,
  buildTask,
  collectEvents,
  connectZk,
  publishDefinitions,
  putTask,
  readAssignmentOwners,
  startHistoryProcess,
  startScheduler,
} from '../support/cluster.js';
import { type Isolation, createIsolatedTopics, eventually, isolate } from '../support/fixtures.js';
import { settledLedgers } from '../support/ledger.js';
import { type TestWorker, type WorkerCall, freePort, startTestWorker } from '../support/processes.js';

/**
 * Routes shard and broadcast on real processes: two schedulers, an API, a history service and
 * HTTP worker processes as the group members. Each instant of a shard task becomes its shards,
 * each run once; a member SIGKILLed mid-instant has its shards retried on the others with the
 * same Idempotency-Key; a scheduler SIGKILLed mid-instant refires no shard whose success was
 * recorded; a broadcast instant reaches every live member once.
 */
const TOKENS = { admin: 'shards-admin-token' };

interface UnitFacts {
  readonly executionId: string;
  readonly instantId?: string;
  readonly shard?: { index: number; count: number };
  readonly member?: { group: string; url: string };
  readonly attempt: number;
}

describe('shard and broadcast routes on real processes', () => {
  let iso: Isolation;
  let zk: ZkClient;
  let api: ApiProcess;
  let history: Awaited<ReturnType<typeof startHistoryProcess>>;
  const schedulers: SchedulerProcess[] = [];
  const workers: TestWorker[] = [];
  let log: { events: NonoEvent[]; stop(): Promise<void> };
  const logs = mkdtempSync(join(tmpdir(), 'nono-shard-calls-'));

  const callApi = async (method: string, path: string, body?: unknown) => {
    const { status, text } = await apiRequest(api, TOKENS.admin, method, path, body);
    if (status >= 300) throw new Error(`${method} ${path}: ${status} ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
  };

  const startMember = async (name: string): Promise<TestWorker> => {
    const worker = await startTestWorker({
      name,
      port: await freePort(),
      callLog: join(logs, `${name}.jsonl`),
    });
    workers.push(worker);
    return worker;
  };

  /** A member's calls from its log (readable after a SIGKILL): the last line of each call is what it became. */
  const logged = (name: string, taskId: string): WorkerCall[] => {
    const file = join(logs, `${name}.jsonl`);
    if (!existsSync(file)) return [];
    const byCall = new Map<string, WorkerCall>();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line === '') continue;
      const call = JSON.parse(line) as WorkerCall;
      if (call.taskId === taskId) byCall.set(`${call.executionId}|${call.attempt}`, call);
    }
    return [...byCall.values()];
  };

  /** Into ZooKeeper for the schedulers, and its definition fact for history's ledger. */
  const defineTask = async (task: ReturnType<typeof buildTask>) => {
    await publishDefinitions(iso, [task]);
    await putTask(zk, task);
  };

  const factsOf = (taskId: string, type: string): UnitFacts[] =>
    log.events
      .filter((event) => event.subject === taskId && event.type === type)
      .map((event) => event.data as UnitFacts);

  /** Per Idempotency-Key (the execution id), how many calls were answered 200 across the members. */
  const doneCounts = (calls: readonly WorkerCall[]): Map<string, number> => {
    const done = new Map<string, number>();
    for (const call of calls.filter((c) => c.answeredStatus === 200))
      done.set(call.executionId, (done.get(call.executionId) ?? 0) + 1);
    return done;
  };

  beforeAll(async () => {
    iso = await isolate('shards');
    await createIsolatedTopics(iso, 3);
    zk = await connectZk(iso);
    api = await startApiProcess(iso, TOKENS, { NONO_LOG_LEVEL: 'warn' });
    history = await startHistoryProcess(iso);
    for (const id of ['s1', 's2'])
      schedulers.push(
        await startScheduler(iso, id, { NONO_ZK_SESSION_TIMEOUT_MS: '4000', NONO_LOST_GRACE_MS: '1000' }),
      );
    log = await collectEvents(iso, iso.topics.executions);
  });
  afterAll(async () => {
    await log?.stop();
    await Promise.all(schedulers.map((scheduler) => scheduler.kill('SIGTERM')));
    await api?.kill();
    await history?.kill();
    await Promise.all(workers.map((worker) => worker.process.kill()));
    zk?.close();
  });

  it('10 shards over 3 members, one member SIGKILLed mid-instant: every shard succeeds exactly once, its retry on another member under the same Idempotency-Key', async () => {
    const names = ['sh-1', 'sh-2', 'sh-3'];
    const members = await Promise.all(names.map((name) => startMember(name)));
    const [doomed] = members;
    if (doomed === undefined) throw new Error('members');
    await callApi('POST', '/worker-groups', {
      name: 'sh',
      members: members.map(({ url }) => ({ url })),
      passiveHealth: { consecutiveFailures: 3, backoffMs: 60_000 },
    });
    const taskId = 'sh-task';
    const start = Date.now();
    await defineTask(
      buildTask(taskId, {
        schedule: { kind: 'interval', everyMs: 4_000 },
        maxRuns: 2,
        overlap: 'allow',
        retry: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 300 },
        target: {
          group: 'sh',
          route: 'shard',
          shards: 10,
          shardParameters: Array.from({ length: 10 }, (_, i) => ({ part: `p${i}` })),
          path: `/slow/${taskId}?ms=1500`,
          timeoutMs: 5_000,
        },
      }),
    );
    // The first member has shard calls running: kill it then.
    await eventually(
      () => (logged('sh-1', taskId).some((call) => call.answeredStatus === undefined) ? true : undefined),
      30_000,
      'shard calls running at the first member',
    );
    await doomed.process.kill('SIGKILL');
    const succeeded = await eventually(
      () => {
        const facts = factsOf(taskId, 'nono.execution.succeeded.v1');
        return new Set(facts.map((f) => f.executionId)).size >= 20 ? facts : undefined;
      },
      60_000,
      'both instants: 20 shards succeeded',
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const calls = names.flatMap((name) => logged(name, taskId));
    const cut = logged('sh-1', taskId).filter((call) => call.answeredStatus === undefined);
    expect(cut.length, 'shard calls cut at the SIGKILL').toBeGreaterThan(0);
    // Every cut call was retried on another member with the same Idempotency-Key.
    for (const call of cut) {
      const retry = calls.find((c) => c.executionId === call.executionId && c.attempt === call.attempt + 1);
      expect(retry, `the retry of ${call.executionId}`).toBeDefined();
      expect(logged('sh-1', taskId)).not.toContainEqual(retry);
      expect(retry?.answeredStatus).toBe(200);
    }
    // Exactly once per (instant, shard): 20 keys, each answered 200 once across the members.
    const done = doneCounts(calls);
    expect(done.size).toBe(20);
    expect([...done].filter(([, n]) => n !== 1)).toEqual([]);
    // The shards of an instant went to all three members at first (shard i to member i mod 3).
    const firstAttempts = names.map((name) => logged(name, taskId).filter((c) => c.attempt === 1).length);
    expect(firstAttempts.every((n) => n > 0)).toBe(true);
    // Each call said which shard it ran, and carried that shard's parameters.
    for (const call of calls) {
      const index = Number(/\.shard-(\d+)$/.exec(call.executionId)?.[1]);
      expect(call.shard).toBe(`${index}/10`);
      expect(JSON.parse(call.body)).toMatchObject({
        shard: { index, count: 10 },
        parameters: { part: `p${index}` },
      });
    }
    // The facts: one success per shard, naming the shard, its instant and the member.
    expect(succeeded).toHaveLength(20);
    for (const fact of succeeded) {
      expect(fact.executionId).toBe(`${fact.instantId}.shard-${fact.shard?.index}`);
      expect(fact.shard?.count).toBe(10);
      expect(fact.member?.group).toBe('sh');
    }
    console.log(
      `shards: ${calls.length} calls for 20 shards; first attempts per member ${firstAttempts.join(', ')}; ${cut.length} cut at the SIGKILL, each retried elsewhere once`,
    );

    // History: the ledger judges each shard on its own (nothing doubled or stale) and the
    // instant succeeded; its executions list the shards with their member.
    const [ledger] = await settledLedgers(
      history,
      [{ id: taskId }],
      { start: start - 1_000, end: Date.now() },
      (l) => (l.summary['succeeded'] ?? 0) >= 2,
      Date.now() + 20_000,
    );
    expect(ledger?.summary).toMatchObject({ succeeded: 2, doubled: 0, stale: 0, unaccounted: 0, undue: 0 });
    const listed = (await (
      await fetch(`${history.url}/tasks/${taskId}/executions?limit=100`, { headers: history.readHeaders })
    ).json()) as { items: Array<Record<string, unknown>> };
    const shardRows = listed.items.filter(
      (row) => row['shardIndex'] !== null && row['shardIndex'] !== undefined,
    );
    expect(shardRows).toHaveLength(20);
    for (const row of shardRows)
      expect(row).toMatchObject({
        shardCount: 10,
        status: 'succeeded',
        memberUrl: expect.stringMatching(/^http/),
      });
  });

  it('broadcast: every live member gets each instant once, one execution per member', async () => {
    const names = ['bc-1', 'bc-2', 'bc-3'];
    const members = await Promise.all(names.map((name) => startMember(name)));
    await callApi('POST', '/worker-groups', { name: 'bc', members: members.map(({ url }) => ({ url })) });
    const taskId = 'bc-task';
    await putTask(
      zk,
      buildTask(taskId, {
        schedule: { kind: 'interval', everyMs: 1_000 },
        maxRuns: 3,
        overlap: 'allow',
        target: { group: 'bc', route: 'broadcast', path: `/ok/${taskId}` },
      }),
    );
    const succeeded = await eventually(
      () => {
        const facts = factsOf(taskId, 'nono.execution.succeeded.v1');
        return facts.length >= 9 ? facts : undefined;
      },
      30_000,
      '3 instants × 3 members succeeded',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const perMember = names.map((name) => logged(name, taskId));
    for (const [index, calls] of perMember.entries()) {
      // Once per instant: 3 calls, 3 instants, each its own execution.
      expect(calls, names[index]).toHaveLength(3);
      expect(new Set(calls.map((c) => c.nominal)).size).toBe(3);
      expect(calls.every((c) => c.answeredStatus === 200 && c.attempt === 1)).toBe(true);
    }
    const all = perMember.flat();
    expect(new Set(all.map((c) => c.executionId)).size).toBe(9);
    expect(succeeded).toHaveLength(9);
    // The instant's outcome lists each member's: every fact names its member, 3 per instant.
    const byInstant = new Map<string, string[]>();
    for (const fact of succeeded)
      byInstant.set(fact.instantId ?? '', [
        ...(byInstant.get(fact.instantId ?? '') ?? []),
        fact.member?.url ?? '',
      ]);
    expect(byInstant.size).toBe(3);
    for (const urls of byInstant.values()) expect(urls.sort()).toEqual(members.map((m) => m.url).sort());
  });

  it('a scheduler SIGKILLed mid-instant: the new owner re-runs only the shards with no recorded outcome, under the same ids', async () => {
    const names = ['cr-1', 'cr-2', 'cr-3'];
    const members = await Promise.all(names.map((name) => startMember(name)));
    await callApi('POST', '/worker-groups', { name: 'cr', members: members.map(({ url }) => ({ url })) });
    const taskId = 'cr-task';
    const start = Date.now();
    // An instant every 2 s whose shards take 1.2 s: when the owner dies, an earlier instant's
    // shards have all succeeded and a later one's are running.
    await defineTask(
      buildTask(taskId, {
        schedule: { kind: 'interval', everyMs: 2_000 },
        maxRuns: 3,
        overlap: 'allow',
        rerunLost: true,
        target: {
          group: 'cr',
          route: 'shard',
          shards: 10,
          path: `/slow/${taskId}?ms=1200`,
          timeoutMs: 4_000,
        },
      }),
    );
    const owners = await eventually(
      async () => {
        const all = await readAssignmentOwners(zk);
        const owner = Object.entries(all).find(([, tasks]) => tasks.includes(taskId))?.[0];
        return owner;
      },
      20_000,
      'an owner for the task',
    );
    const owner = schedulers.find((scheduler) => scheduler.id === owners);
    if (owner === undefined) throw new Error(`owner ${owners} is not one of ours`);
    await eventually(
      () => {
        const succeeded = factsOf(taskId, 'nono.execution.succeeded.v1').length;
        const running = names
          .flatMap((name) => logged(name, taskId))
          .filter((c) => c.answeredStatus === undefined).length;
        return succeeded >= 10 && running > 0 ? true : undefined;
      },
      30_000,
      'an instant done and a later one running',
    );
    await owner.kill('SIGKILL');
    const killedAt = Date.now();
    const after = await eventually(
      () => {
        const done = new Set(factsOf(taskId, 'nono.execution.succeeded.v1').map((f) => f.executionId));
        const lost = factsOf(taskId, 'nono.execution.lost.v1');
        return done.size >= 30 ? { done, lost } : undefined;
      },
      60_000,
      'every shard succeeded',
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const calls = names.flatMap((name) => logged(name, taskId));
    const recordedBeforeKill = new Set(
      log.events
        .filter(
          (e) =>
            e.subject === taskId &&
            e.type === 'nono.execution.succeeded.v1' &&
            Date.parse(e.time) < killedAt - 500,
        )
        .map((e) => (e.data as UnitFacts).executionId),
    );
    // No shard whose success was recorded before the crash was called again.
    for (const executionId of recordedBeforeKill)
      expect(
        calls.filter((c) => c.executionId === executionId),
        executionId,
      ).toHaveLength(1);
    // The others were reported lost and re-run once, each under its own id (its Idempotency-Key).
    const lostIds = new Set(factsOf(taskId, 'nono.execution.lost.v1').map((f) => f.executionId));
    for (const call of calls.filter((c) => c.attempt > 1)) expect(lostIds.has(call.executionId)).toBe(true);
    for (const fact of factsOf(taskId, 'nono.execution.lost.v1'))
      expect(fact).toMatchObject({ shard: { count: 10 }, instantId: expect.any(String) });
    const succeededOnce = new Map<string, number>();
    for (const fact of factsOf(taskId, 'nono.execution.succeeded.v1'))
      succeededOnce.set(fact.executionId, (succeededOnce.get(fact.executionId) ?? 0) + 1);
    expect(succeededOnce.size).toBe(30);
    expect([...succeededOnce].filter(([, n]) => n > 1)).toEqual([]);
    expect(recordedBeforeKill.size).toBeGreaterThanOrEqual(10);
    expect(lostIds.size).toBeGreaterThan(0);
    console.log(
      `scheduler crash mid-instant: ${recordedBeforeKill.size} shards recorded before the SIGKILL, ${lostIds.size} reported lost and re-run, ${calls.length} calls in all (${after.lost.length} lost facts)`,
    );
    const [ledger] = await settledLedgers(
      history,
      [{ id: taskId }],
      { start: start - 1_000, end: Date.now() },
      (l) => (l.summary['succeeded'] ?? 0) >= 3,
      Date.now() + 20_000,
    );
    console.log(`ledger: ${JSON.stringify(ledger?.entries.map((e) => [e.nominalTime, e.outcome, e.flags]))}`);
    expect(ledger?.summary).toMatchObject({
      succeeded: 3,
      doubled: 0,
      stale: 0,
      unaccounted: 0,
      undue: 0,
    });
  });
});
