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
  layout,
  putTask,
  startScheduler,
} from '../support/cluster.js';
import { type Isolation, createIsolatedTopics, eventually, isolate } from '../support/fixtures.js';
import {
  type RunningProcess,
  type TestWorker,
  type WorkerCall,
  freePort,
  startProcess,
  startTestWorker,
} from '../support/processes.js';

/**
 * Worker groups on real processes: two schedulers, an API, and HTTP worker processes as the
 * group members. Round-robin spreads evenly, consistent-hash keeps a task on its member, a
 * member SIGKILLed mid-call has its call retried on another member with the same
 * Idempotency-Key (nothing done twice), and a dynamic member gets work within one lease period
 * of registering and none once its lease has lapsed.
 */
const TOKENS = { admin: 'groups-admin-token', operator: 'groups-operator-token' };

describe('worker groups on real processes', () => {
  let iso: Isolation;
  let zk: ZkClient;
  let api: ApiProcess;
  const schedulers: SchedulerProcess[] = [];
  const workers: TestWorker[] = [];
  let log: { events: NonoEvent[]; stop(): Promise<void> };

  const callApi = async (
    method: string,
    path: string,
    body?: unknown,
    role: keyof typeof TOKENS = 'admin',
  ) => {
    const { status, text } = await apiRequest(api, TOKENS[role], method, path, body);
    if (status >= 300) throw new Error(`${method} ${path}: ${status} ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
  };

  const startMember = async (name: string, callLog?: string): Promise<TestWorker> => {
    const worker = await startTestWorker({
      name,
      port: await freePort(),
      ...(callLog === undefined ? {} : { callLog }),
    });
    workers.push(worker);
    return worker;
  };

  const callsOf = async (worker: TestWorker, taskIds: readonly string[]): Promise<WorkerCall[]> =>
    (await worker.calls()).filter((call) => taskIds.includes(call.taskId));

  /** Defines group tasks, every `everyMs`, straight in ZooKeeper (as the other scheduler tests do). */
  const putGroupTasks = async (ids: readonly string[], target: Record<string, unknown>, extra = {}) => {
    for (const id of ids)
      await putTask(
        zk,
        buildTask(id, {
          schedule: { kind: 'interval', everyMs: 250 },
          overlap: 'allow',
          ...extra,
          target: { path: `/ok/${id}`, ...target },
        }),
      );
  };
  const deleteTasks = async (ids: readonly string[]) => {
    for (const id of ids) await zk.delete(layout.task(id));
  };

  beforeAll(async () => {
    iso = await isolate('worker-groups');
    await createIsolatedTopics(iso, 3);
    zk = await connectZk(iso);
    api = await startApiProcess(iso, TOKENS, { NONO_LOG_LEVEL: 'warn' });
    for (const id of ['g1', 'g2'])
      schedulers.push(await startScheduler(iso, id, { NONO_ZK_SESSION_TIMEOUT_MS: '4000' }));
    log = await collectEvents(iso, iso.topics.executions);
  });
  afterAll(async () => {
    await log?.stop();
    await Promise.all(schedulers.map((scheduler) => scheduler.kill('SIGTERM')));
    await api?.kill();
    await Promise.all(workers.map((worker) => worker.process.kill()));
    zk?.close();
  });

  it('round-robin: 3 members share a group’s calls within ±10 %', async () => {
    const members = [await startMember('rr-1'), await startMember('rr-2'), await startMember('rr-3')];
    await callApi('POST', '/worker-groups', { name: 'rr', members: members.map(({ url }) => ({ url })) });
    const ids = ['rr-a', 'rr-b', 'rr-c'];
    await putGroupTasks(ids, { group: 'rr', route: 'round-robin' });
    await eventually(
      async () =>
        (await Promise.all(members.map((m) => callsOf(m, ids)))).every((c) => c.length > 0)
          ? true
          : undefined,
      30_000,
      'every member called',
    );
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    await deleteTasks(ids);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const counts = await Promise.all(members.map(async (member) => (await callsOf(member, ids)).length));
    const total = counts.reduce((sum, count) => sum + count, 0);
    console.log(`round-robin: ${total} calls over 3 members: ${counts.join(', ')}`);
    expect(total).toBeGreaterThan(120);
    for (const count of counts) expect(Math.abs(count - total / 3)).toBeLessThanOrEqual(total / 30);
    // Every call went to a member as the group's path says, and the facts name the member.
    const fired = log.events.filter(
      (event) => event.type === 'nono.execution.fired.v1' && ids.includes(event.subject),
    );
    expect(fired.length).toBeGreaterThan(0);
    for (const event of fired)
      expect(event.data).toMatchObject({
        member: { group: 'rr', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) },
        targetUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/ok\/rr-[abc]$/),
      });
  });

  it('consistent-hash: each task sticks to one member; removing a member moves only its tasks', async () => {
    const members = [await startMember('ch-1'), await startMember('ch-2'), await startMember('ch-3')];
    await callApi('POST', '/worker-groups', { name: 'ch', members: members.map(({ url }) => ({ url })) });
    const ids = Array.from({ length: 9 }, (_, i) => `ch-${i}`);
    await putGroupTasks(
      ids,
      { group: 'ch', route: 'consistent-hash' },
      { schedule: { kind: 'interval', everyMs: 500 } },
    );
    const placement = async (): Promise<Map<string, Set<number>>> => {
      const where = new Map<string, Set<number>>(ids.map((id) => [id, new Set()]));
      for (const [index, member] of members.entries())
        for (const call of await callsOf(member, ids)) where.get(call.taskId)?.add(index);
      return where;
    };
    await eventually(
      async () => ([...(await placement()).values()].every((at) => at.size > 0) ? true : undefined),
      30_000,
      'every task called',
    );
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const before = await placement();
    for (const [taskId, at] of before) expect([...at], `${taskId} went to one member only`).toHaveLength(1);
    const home = new Map([...before].map(([taskId, at]) => [taskId, [...at][0] ?? -1]));
    // Remove the member with the most tasks; the others' tasks must not move.
    const counts = [0, 1, 2].map((index) => [...home.values()].filter((m) => m === index).length);
    const removed = counts.indexOf(Math.max(...counts));
    const changedAt = Date.now();
    await callApi('PUT', '/worker-groups/ch', {
      members: members.filter((_, index) => index !== removed).map(({ url }) => ({ url })),
    });
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await deleteTasks(ids);
    // Calls fired a moment after the change (the schedulers hear of it within a watch round trip).
    for (const [index, member] of members.entries())
      for (const call of (await callsOf(member, ids)).filter((c) => c.receivedAt > changedAt + 1_000)) {
        expect(index, `${call.taskId} called at the removed member`).not.toBe(removed);
        if (home.get(call.taskId) !== removed)
          expect(index, `${call.taskId} moved`).toBe(home.get(call.taskId));
      }
    console.log(
      `consistent-hash: tasks per member before the change: ${counts.join(', ')}; removed member ${removed}`,
    );
  });

  it('failover: a member SIGKILLed mid-call has its call retried on the next member, same Idempotency-Key, nothing done twice', async () => {
    const logs = mkdtempSync(join(tmpdir(), 'nono-group-calls-'));
    const members = [
      await startMember('fo-1', join(logs, 'fo-1.jsonl')),
      await startMember('fo-2', join(logs, 'fo-2.jsonl')),
      await startMember('fo-3', join(logs, 'fo-3.jsonl')),
    ];
    const [first, second, third] = members;
    if (first === undefined || second === undefined || third === undefined) throw new Error('members');
    await callApi('POST', '/worker-groups', {
      name: 'fo',
      members: members.map(({ url }) => ({ url })),
      passiveHealth: { consecutiveFailures: 3, backoffMs: 60_000 },
    });
    const ids = ['fo-a', 'fo-b'];
    for (const id of ids)
      await putTask(
        zk,
        buildTask(id, {
          schedule: { kind: 'interval', everyMs: 1_000 },
          overlap: 'allow',
          retry: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 300 },
          target: { group: 'fo', route: 'failover', path: `/slow/${id}?ms=1500`, timeoutMs: 5_000 },
        }),
      );
    // Calls take 1.5 s and come every second: the first member always has calls running.
    await eventually(
      async () =>
        (await callsOf(first, ids)).filter((c) => c.answeredStatus === 200).length >= 4 ? true : undefined,
      30_000,
      'the first member to answer calls',
    );
    await first.process.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await deleteTasks(ids);
    await new Promise((resolve) => setTimeout(resolve, 2_500));

    const logged = (name: string): WorkerCall[] => {
      const file = join(logs, `${name}.jsonl`);
      // A member never called has no log.
      if (!existsSync(file)) return [];
      const lines = readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '');
      // One line at arrival, one at answer: the last line of each call is what it became.
      const byCall = new Map<string, WorkerCall>();
      for (const line of lines) {
        const call = JSON.parse(line) as WorkerCall;
        byCall.set(`${call.executionId}|${call.attempt}`, call);
      }
      return [...byCall.values()];
    };
    const cut = logged('fo-1').filter((call) => call.answeredStatus === undefined);
    expect(cut.length, 'calls running at the first member when it was killed').toBeGreaterThan(0);
    const elsewhere = [...logged('fo-2'), ...logged('fo-3')];
    for (const call of cut) {
      const retry = elsewhere.find(
        (c) => c.executionId === call.executionId && c.attempt === call.attempt + 1,
      );
      expect(retry, `the retry of ${call.executionId} attempt ${call.attempt}`).toBeDefined();
      // Failover: the next member in order.
      expect(logged('fo-2')).toContainEqual(
        expect.objectContaining({ executionId: call.executionId, attempt: call.attempt + 1 }),
      );
      expect(retry?.answeredStatus).toBe(200);
    }
    // Nothing done twice: per Idempotency-Key, one 2xx answer at most across the members.
    const all = [...logged('fo-1'), ...elsewhere];
    const done = new Map<string, number>();
    for (const call of all.filter((c) => c.answeredStatus === 200))
      done.set(call.executionId, (done.get(call.executionId) ?? 0) + 1);
    expect([...done].filter(([, n]) => n > 1)).toEqual([]);
    // The facts: the cut attempt failed at the first member and will be retried; the execution
    // succeeded once, at the second.
    await eventually(
      () => {
        for (const call of cut) {
          const facts = log.events.filter(
            (e) => (e.data as { executionId?: string }).executionId === call.executionId,
          );
          const failed = facts.find((e) => e.type === 'nono.execution.failed.v1');
          const succeeded = facts.filter((e) => e.type === 'nono.execution.succeeded.v1');
          if (failed === undefined || succeeded.length !== 1) return undefined;
          expect(failed.data).toMatchObject({ willRetry: true, member: { group: 'fo', url: first.url } });
          expect(succeeded[0]?.data).toMatchObject({
            attempt: call.attempt + 1,
            member: { url: second.url },
          });
        }
        return true;
      },
      20_000,
      'the facts of the cut calls',
    );
    expect(third.url).not.toBe(second.url);
    // Three failures in a row took the dead member out: the API shows it, by scheduler.
    const health = await callApi('GET', '/worker-groups/fo/members');
    console.log(
      `failover: ${cut.length} calls cut at the SIGKILL (${killedAt}), each retried on the next member once`,
    );
    expect(health).toMatchObject({
      members: expect.arrayContaining([expect.objectContaining({ url: first.url, health: 'out' })]),
    });
  });

  it('a dynamic member gets work within one lease period of registering, and none after its lease lapsed', async () => {
    const leaseMs = 3_000;
    await callApi('POST', '/worker-groups', { name: 'dyn', members: [], leaseMs });
    const ids = ['dyn-a', 'dyn-b'];
    await putGroupTasks(
      ids,
      { group: 'dyn', route: 'round-robin' },
      { schedule: { kind: 'interval', everyMs: 200 } },
    );
    const [stays, lapses] = [await startMember('dyn-1'), await startMember('dyn-2')];
    if (stays === undefined || lapses === undefined) throw new Error('members');
    const register = async (memberId: string, url: string) =>
      (await callApi('PUT', `/worker-groups/dyn/members/${memberId}`, { url }, 'operator')) as {
        expiresAt: string;
      };
    await register('stays', stays.url);
    const registeredAt = Date.now();
    let lastLease = await register('lapses', lapses.url);
    const firstCall = await eventually(
      async () => (await callsOf(stays, ids))[0],
      leaseMs + 5_000,
      'the first call at the new member',
    );
    console.log(
      `dynamic member: first call ${firstCall.receivedAt - registeredAt} ms after its registration`,
    );
    expect(firstCall.receivedAt - registeredAt).toBeLessThan(leaseMs);
    // Both heartbeat for a while (a third of the lease), then one stops.
    for (let beat = 0; beat < 4; beat++) {
      await new Promise((resolve) => setTimeout(resolve, leaseMs / 3));
      await register('stays', stays.url);
      lastLease = await register('lapses', lapses.url);
    }
    expect((await callsOf(lapses, ids)).length).toBeGreaterThan(0);
    const lapsesAt = Date.parse(lastLease.expiresAt);
    for (let beat = 0; beat < 9; beat++) {
      await new Promise((resolve) => setTimeout(resolve, leaseMs / 3));
      await register('stays', stays.url);
    }
    await deleteTasks(ids);
    const firedAt = (call: WorkerCall) => Date.parse((JSON.parse(call.body) as { firedAt: string }).firedAt);
    const late = (await callsOf(lapses, ids)).filter((call) => firedAt(call) > lapsesAt);
    expect(late, 'calls fired at the lapsed member after its lease ran out').toEqual([]);
    expect(
      (await callsOf(stays, ids)).filter((call) => firedAt(call) > lapsesAt + leaseMs).length,
    ).toBeGreaterThan(10);
    // The lapsed member is listed as lapsed until the leader removes its record (a lease period later).
    const { members } = (await callApi('GET', '/worker-groups/dyn/members')) as {
      members: Array<{ memberId: string | null; state: string }>;
    };
    expect(members).toContainEqual(expect.objectContaining({ memberId: 'stays', state: 'live' }));
    expect(members).not.toContainEqual(expect.objectContaining({ memberId: 'lapses', state: 'live' }));
  });

  it('active health: a member failing its probes is taken out by every scheduler though its calls succeed, and is back once a probe passes', async () => {
    const [healthy, sick] = [await startMember('pr-1'), await startMember('pr-2')];
    if (healthy === undefined || sick === undefined) throw new Error('members');
    await callApi('POST', '/worker-groups', {
      name: 'pr',
      members: [{ url: healthy.url }, { url: sick.url }],
      activeHealth: { intervalMs: 1_000, timeoutMs: 500, unhealthyAfter: 2, healthyAfter: 1 },
    });
    const ids = ['pr-a', 'pr-b', 'pr-c'];
    await putGroupTasks(ids, { group: 'pr', route: 'round-robin' });
    const setHealth = (status: number) => fetch(`${sick.url}/healthz?status=${status}`, { method: 'PUT' });
    const takenOutBy = async () => {
      const { members } = (await callApi('GET', '/worker-groups/pr/members')) as {
        members: Array<{
          url: string;
          health: string;
          takenOutBy: Array<{ cause: string; lastError: string }>;
        }>;
      };
      return members.find((m) => m.url === sick.url)?.takenOutBy ?? [];
    };
    await eventually(
      async () => ((await callsOf(sick, ids)).length > 0 ? true : undefined),
      30_000,
      'calls at both',
    );
    await setHealth(503);
    const failedAt = Date.now();
    const out = await eventually(
      async () => {
        const by = await takenOutBy();
        return by.length === schedulers.length ? by : undefined;
      },
      15_000,
      'the sick member out at every scheduler',
    );
    console.log(
      `active health: out at both schedulers ${Date.now() - failedAt} ms after /healthz turned 503`,
    );
    for (const entry of out)
      expect(entry).toMatchObject({ cause: 'probe', lastError: 'health probe answered HTTP 503' });
    const outAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const firedAt = (call: WorkerCall) => Date.parse((JSON.parse(call.body) as { firedAt: string }).firedAt);
    expect((await callsOf(sick, ids)).filter((call) => firedAt(call) > outAt)).toEqual([]);
    expect((await callsOf(healthy, ids)).filter((call) => firedAt(call) > outAt).length).toBeGreaterThan(10);
    // Its calls never failed: passive health had no part in it.
    expect(
      (await callsOf(sick, ids)).every(
        (call) => call.answeredStatus === undefined || call.answeredStatus === 200,
      ),
    ).toBe(true);
    await setHealth(200);
    await eventually(async () => ((await takenOutBy()).length === 0 ? true : undefined), 15_000, 'back in');
    const backAt = Date.now();
    await eventually(
      async () => ((await callsOf(sick, ids)).some((call) => firedAt(call) > backAt) ? true : undefined),
      10_000,
      'calls at the member again',
    );
    await deleteTasks(ids);
    const probes = (await (await fetch(`${sick.url}/probes`)).json()) as { probes: number };
    expect(probes.probes).toBeGreaterThan(4);
  });

  it('SDK workers (the example worker on @nono/worker) join a group by registering; SIGTERM drains one: it leaves, finishes its calls, and the rest go to the other', async () => {
    await callApi('POST', '/worker-groups', { name: 'sdk', members: [], leaseMs: 3_000 });
    const startSdkWorker = async (memberId: string): Promise<RunningProcess & { url: string }> => {
      const port = await freePort();
      const proc = startProcess(`sdk-${memberId}`, 'examples/worker/dist/main.js', {
        WORKER_PORT: String(port),
        WORKER_GROUP: 'sdk',
        WORKER_API_URL: api.url,
        WORKER_TOKEN: TOKENS.operator,
        WORKER_MEMBER_ID: memberId,
        WORKER_DRAIN_MS: '8000',
      });
      await proc.waitForLine(/example worker listening/);
      return Object.assign(proc, { url: `http://127.0.0.1:${port}` });
    };
    const [leaving, staying] = [await startSdkWorker('sdk-1'), await startSdkWorker('sdk-2')];
    const ids = ['sdk-a'];
    for (const id of ids)
      await putTask(
        zk,
        buildTask(id, {
          schedule: { kind: 'interval', everyMs: 400 },
          overlap: 'allow',
          retry: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 300 },
          target: { group: 'sdk', route: 'round-robin', path: '/jobs/slow?ms=1200', timeoutMs: 5_000 },
        }),
      );
    const succeededAt = async (url: string): Promise<number> =>
      ((await (await fetch(`${url}/state`)).json()) as { counts: { slow?: { succeeded: number } } }).counts
        .slow?.succeeded ?? 0;
    await eventually(
      async () =>
        (await succeededAt(leaving.url)) >= 2 && (await succeededAt(staying.url)) >= 2 ? true : undefined,
      30_000,
      'both SDK workers answering calls',
    );
    await leaving.kill('SIGTERM');
    const leftLine = await leaving.waitForLine(/left the worker group/, 1_000);
    const leftAt = (JSON.parse(leftLine) as { time: number }).time;
    expect(await leaving.exited).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await deleteTasks(ids);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const facts = log.events.filter((event) => ids.includes(event.subject));
    const member = (event: NonoEvent) => (event.data as { member?: { url: string } }).member?.url;
    const firedAt = (event: NonoEvent) => Date.parse((event.data as { firedAt: string }).firedAt);
    const fired = facts.filter((event) => event.type === 'nono.execution.fired.v1');
    // Nothing new went to the leaving worker once it had left (the schedulers hear of it in a watch round trip).
    expect(fired.filter((event) => member(event) === leaving.url && firedAt(event) > leftAt + 500)).toEqual(
      [],
    );
    expect(fired.some((event) => member(event) === staying.url && firedAt(event) > leftAt + 500)).toBe(true);
    // Every execution that reached the leaving worker before it drained ended once, successfully.
    const executionOf = (event: NonoEvent) => (event.data as { executionId: string }).executionId;
    const succeeded = new Map<string, number>();
    for (const event of facts.filter((e) => e.type === 'nono.execution.succeeded.v1'))
      succeeded.set(executionOf(event), (succeeded.get(executionOf(event)) ?? 0) + 1);
    expect([...succeeded].filter(([, n]) => n > 1)).toEqual([]);
    const atLeaving = fired.filter((event) => member(event) === leaving.url && firedAt(event) <= leftAt);
    expect(atLeaving.length).toBeGreaterThan(0);
    for (const event of atLeaving) {
      expect(succeeded.get(executionOf(event)), executionOf(event)).toBe(1);
      // ... at the leaving worker itself: the drain let its running calls finish.
      const success = facts.find(
        (e) => e.type === 'nono.execution.succeeded.v1' && executionOf(e) === executionOf(event),
      );
      expect(success === undefined ? undefined : member(success)).toBe(leaving.url);
    }
    const { members } = (await callApi('GET', '/worker-groups/sdk/members')) as {
      members: Array<{ memberId: string | null; state: string }>;
    };
    expect(members.map((m) => [m.memberId, m.state])).toEqual([['sdk-2', 'live']]);
    await staying.kill('SIGTERM');
  });
});
