import { type Backfill, backfillDocument } from '@nono/coordination';
import { scheduledExecutionId } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, runNono, startApiProcess } from '../support/api.js';
import {
  HISTORY_READ_TOKEN,
  type TestCluster,
  layout,
  readAssignmentOwners,
  startHistoryProcess,
  startScheduler,
  startTestCluster,
} from '../support/cluster.js';
import { eventually, isolate } from '../support/fixtures.js';
import { doubledAttempts } from '../support/ledger.js';
import { type RunningProcess } from '../support/processes.js';

const OPERATOR = 'backfill-operator';
const TASK = 'bf-every-second';
const STEP = 1_000;

/**
 * Backfill through the real API, three schedulers, history and a worker: 1,000 past instants
 * of which 10 already succeeded fire 990, each once, under their original execution ids,
 * although the scheduler running the backfill is SIGKILLed midway; the calls it had in flight
 * are recorded lost and a second backfill of the window picks up what did not succeed. A
 * dry run fires nothing, a cancel stops the claims, and a window past the bound is refused.
 */
describe('backfill', () => {
  let cluster: TestCluster;
  let api: ApiProcess;
  let history: RunningProcess & { url: string };
  /** The window: 1,000 instants of a task firing every second, all in the past. */
  let from: number;
  let to: number;

  beforeAll(async () => {
    cluster = await startTestCluster(await isolate('backfill'), { schedulers: ['bf1', 'bf2', 'bf3'] });
    history = await startHistoryProcess(cluster.iso);
    api = await startApiProcess(
      cluster.iso,
      { operator: OPERATOR, admin: `${OPERATOR}-admin` },
      { NONO_HISTORY_URL: history.url, NONO_HISTORY_READ_TOKEN: HISTORY_READ_TOKEN },
    );
    to = Math.floor(Date.now() / STEP) * STEP - 5 * STEP;
    from = to - 999 * STEP;
    // Paused: the schedule fires nothing of its own; its backfills run all the same.
    const created = await call(`${OPERATOR}-admin`, 'POST', '/tasks', {
      id: TASK,
      name: TASK,
      paused: true,
      schedule: { kind: 'interval', everyMs: STEP },
      // 300 ms a call: a backfill always has calls in flight, so the SIGKILL below catches some.
      target: { url: `${cluster.worker.url}/slow/${TASK}?ms=300`, timeoutMs: 5_000 },
      retry: { maxAttempts: 1 },
    });
    expect(created.status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await api?.kill();
    await history?.kill();
    await cluster?.stop();
  });

  async function call(token: string, method: string, path: string, body?: unknown) {
    const response = await fetch(`${api.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      json: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
    };
  }

  const iso = (ms: number) => new Date(ms).toISOString();

  async function readBackfill(backfillId: string): Promise<Backfill> {
    const { data } = await cluster.zk.get(layout.backfill(TASK, backfillId));
    const parsed = backfillDocument.parse(data);
    if (!parsed.ok) throw new Error('backfill document does not parse');
    return parsed.value;
  }

  async function start(body: Record<string, unknown>): Promise<string> {
    const answer = await call(OPERATOR, 'POST', `/tasks/${TASK}/backfills`, body);
    expect(answer.status, JSON.stringify(answer.json)).toBe(202);
    return String(answer.json?.backfillId);
  }

  async function untilOver(backfillId: string, timeoutMs: number): Promise<Backfill> {
    return eventually(
      async () => {
        const backfill = await readBackfill(backfillId);
        return backfill.state !== 'running' && Object.keys(backfill.inflight).length === 0
          ? backfill
          : undefined;
      },
      timeoutMs,
      `backfill ${backfillId} to end`,
    );
  }

  /** How many of the window's instants history says succeeded (a dry run's `alreadySucceeded`). */
  async function succeededInHistory(): Promise<number> {
    const response = await call(OPERATOR, 'POST', `/tasks/${TASK}/backfills`, {
      from: iso(from),
      to: iso(to),
      dryRun: true,
    });
    return Number(response.json?.alreadySucceeded);
  }

  /**
   * History counts at least `count` succeeded and the count stayed the same for 3 s (history
   * projects a moment behind Kafka): that count.
   */
  async function untilHistorySucceeded(count: number): Promise<number> {
    let last = -1;
    let since = Date.now();
    try {
      return await eventually(
        async () => {
          const now = await succeededInHistory();
          if (now !== last) [last, since] = [now, Date.now()];
          return now >= count && Date.now() - since >= 3_000 ? now : undefined;
        },
        90_000,
        `history to count ${count} succeeded`,
      );
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)} (it counts ${last})`);
    }
  }

  it('refuses a window past the bound without the override, naming the field', async () => {
    const eightDays = 8 * 24 * 3_600_000;
    const refused = await call(OPERATOR, 'POST', `/tasks/${TASK}/backfills`, {
      from: iso(to - eightDays),
      to: iso(to),
      dryRun: true,
    });
    expect(refused.status).toBe(422);
    expect(refused.contentType).toContain('application/problem+json');
    expect(refused.json).toMatchObject({ code: 'NONO_BACKFILL_TOO_LARGE', errors: [{ field: 'to' }] });
    // The override passes the window bound; the plan's own limit (10,000 instants) still holds.
    const overridden = await call(OPERATOR, 'POST', `/tasks/${TASK}/backfills`, {
      from: iso(to - eightDays),
      to: iso(to),
      dryRun: true,
      allowLargeWindow: true,
    });
    expect(overridden.status).toBe(422);
    expect(overridden.json).toMatchObject({ code: 'NONO_BACKFILL_TOO_LARGE', errors: [{ field: 'from' }] });
    const future = await call(OPERATOR, 'POST', `/tasks/${TASK}/backfills`, {
      from: iso(to),
      to: iso(Date.now() + 60_000),
    });
    expect(future.status).toBe(422);
    expect(future.json).toMatchObject({ code: 'NONO_INVALID_BACKFILL', errors: [{ field: 'to' }] });
  });

  it('fires 990 of 1,000 instants (10 succeeded before) once each under their ids, through a SIGKILL', async () => {
    const { worker, zk } = cluster;
    // Ten instants succeed first, through a backfill of their own.
    const first = await start({ from: iso(from), to: iso(from + 9 * STEP), ratePerSecond: 50 });
    expect((await untilOver(first, 60_000)).succeeded).toBe(10);
    expect(await untilHistorySucceeded(10)).toBe(10);

    const dry = await call(OPERATOR, 'POST', `/tasks/${TASK}/backfills`, {
      from: iso(from),
      to: iso(to),
      dryRun: true,
    });
    expect(dry.status).toBe(200);
    const plannedFires = dry.json?.fires as Array<{ nominalTime: string; executionId: string }>;
    expect(dry.json).toMatchObject({ instants: 1000, alreadySucceeded: 10 });
    expect(plannedFires).toHaveLength(990);
    const callsBefore = (await worker.calls()).length;

    const backfillId = await start({ from: iso(from), to: iso(to), ratePerSecond: 60, concurrency: 8 });
    // Midway, the scheduler running it is killed; one of the two others takes the task over.
    await eventually(
      async () => ((await worker.calls()).length - callsBefore >= 300 ? true : undefined),
      120_000,
      '300 backfill calls',
    );
    const owners = await readAssignmentOwners(zk);
    const ownerId = Object.keys(owners).find((id) => owners[id]?.includes(TASK));
    const owner = cluster.schedulers.find((s) => s.id === ownerId);
    expect(owner).toBeDefined();
    await owner?.kill('SIGKILL');
    const atKill = await readBackfill(backfillId);
    // Started again on its spool, as deploy/'s unit restarts it: the facts it had spooled but not
    // yet handed to Kafka (a success its backfill document already counts) reach history then.
    cluster.schedulers[cluster.schedulers.indexOf(owner!)] = await startScheduler(cluster.iso, owner!.id, {
      NONO_SCHEDULER_SPOOL_DIR: owner!.spoolDir,
    });
    const inflightOnKilled = Object.values(atKill.inflight).filter((c) => c.schedulerId === ownerId).length;
    const over = await untilOver(backfillId, 240_000);
    expect(over.state).toBe('finished');
    // The calls in flight on the killed scheduler are recorded lost, not refired.
    expect(over.lost.length).toBeGreaterThan(0);
    expect(over.lost.length).toBeLessThanOrEqual(inflightOnKilled);
    expect(over.cursor).toBe(990);
    expect(over.succeeded + over.failed + over.lost.length).toBe(990);
    // At most what was in flight on the killed scheduler is lost.
    expect(over.lost.length).toBeLessThanOrEqual(8);

    const planned = new Set(plannedFires.map((f) => f.executionId));
    const backfillCalls = (await worker.calls()).slice(callsBefore).filter((c) => c.taskId === TASK);
    // Under their original ids, only the planned ones, never one attempt twice.
    for (const c of backfillCalls) {
      expect(c.executionId).toBe(scheduledExecutionId(TASK, Date.parse(String(c.nominal))));
      expect(planned.has(String(c.executionId))).toBe(true);
    }
    expect(doubledAttempts(backfillCalls)).toEqual([]);
    const calledIds = new Set(backfillCalls.map((c) => c.executionId));
    expect(calledIds.size).toBe(backfillCalls.length);
    // Every planned instant was called, except lost ones that never reached the worker.
    expect(calledIds.size).toBeGreaterThanOrEqual(990 - over.lost.length);
    console.log(
      `backfill: ${backfillCalls.length} calls for ${calledIds.size} ids; succeeded ${over.succeeded}, failed ${over.failed}, lost ${over.lost.length} (in flight on the killed scheduler at the kill: ${inflightOnKilled})`,
    );

    // A second backfill of the window fires what did not succeed, and nothing else: the lost
    // calls whose success did not get out before the kill (those whose did are succeeded).
    const succeeded = await untilHistorySucceeded(10 + over.succeeded);
    const again = await call(OPERATOR, 'POST', `/tasks/${TASK}/backfills`, { from: iso(from), to: iso(to) });
    expect(again.status).toBe(202);
    const secondTotal = Number(again.json?.total);
    expect(secondTotal).toBe(1000 - succeeded);
    expect(secondTotal).toBeLessThanOrEqual(over.lost.length);
    console.log(`second backfill: ${secondTotal} instants (history: ${succeeded} of 1000 succeeded)`);
    if (secondTotal > 0) await untilOver(String(again.json?.backfillId), 60_000);
    expect(await untilHistorySucceeded(1000)).toBe(1000);
    const allCalls = (await worker.calls()).filter((c) => c.taskId === TASK);
    expect(doubledAttempts(allCalls)).toEqual([]);

    // History's ledger: every instant backfilled, none doubled or stale.
    const ledger = (await (
      await fetch(`${history.url}/tasks/${TASK}/ledger?from=${iso(from)}&to=${iso(to + 1)}`, {
        headers: { authorization: `Bearer ${HISTORY_READ_TOKEN}` },
      })
    ).json()) as { summary: Record<string, number> };
    console.log(`ledger summary: ${JSON.stringify(ledger.summary)}`);
    expect(ledger.summary).toMatchObject({
      succeeded: 1000,
      backfilled: 1000,
      doubled: 0,
      stale: 0,
      undue: 0,
    });
  }, 420_000);

  it('lists without firing in a dry run, and stops claiming when cancelled', async () => {
    const { worker } = cluster;
    const before = (await worker.calls()).length;
    const dry = await call(OPERATOR, 'POST', `/tasks/${TASK}/backfills`, {
      from: iso(from),
      to: iso(to),
      force: true,
      dryRun: true,
    });
    expect(dry.json).toMatchObject({ instants: 1000, alreadySucceeded: 0 });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await worker.calls()).length).toBe(before);

    const backfillId = await start({
      from: iso(from),
      to: iso(to),
      force: true,
      ratePerSecond: 5,
      concurrency: 2,
    });
    await eventually(
      async () => ((await worker.calls()).length - before >= 5 ? true : undefined),
      30_000,
      'a few forced calls',
    );
    const cancelled = await call(OPERATOR, 'POST', `/tasks/${TASK}/backfills/${backfillId}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({
      state: 'cancelled',
      cancelledBy: { id: expect.stringMatching(/^operator/) as unknown },
    });
    const over = await untilOver(backfillId, 30_000);
    const afterCancel = (await worker.calls()).length;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await worker.calls()).length).toBe(afterCancel);
    expect(over.total - over.cursor).toBeGreaterThan(900);
    const view = await call(OPERATOR, 'GET', `/tasks/${TASK}/backfills/${backfillId}`);
    expect(view.json).toMatchObject({ state: 'cancelled', running: 0 });
    const list = await call(OPERATOR, 'GET', `/tasks/${TASK}/backfills`);
    expect((list.json?.items as unknown[]).length).toBe(4);

    // The CLI: a dry run, the list, and the progress bar of a backfill followed to its end.
    const cliDry = await runNono(api.url, OPERATOR, [
      'backfills',
      'start',
      TASK,
      '--from',
      iso(from),
      '--to',
      iso(to),
      '--dry-run',
      '--json',
    ]);
    expect(cliDry.code, cliDry.stderr).toBe(0);
    expect(JSON.parse(cliDry.stdout)).toMatchObject({ instants: 1000, alreadySucceeded: 1000, fires: [] });
    const cliList = await runNono(api.url, OPERATOR, ['backfills', 'ls', TASK]);
    expect(cliList.stdout).toContain(backfillId);
    const watched = await runNono(api.url, OPERATOR, ['backfills', 'watch', TASK, backfillId]);
    expect(watched.code).toBe(0);
    expect(watched.stderr).toMatch(/\[#*-*\] +\d+\/1000 +ok \d+ +failed 0 +lost 0 +running 0 +cancelled/);
    expect(watched.stdout).toContain(`backfill ${backfillId} of task ${TASK}: cancelled`);
    // Cancelling again changes nothing; a backfill that finished cannot be cancelled (exit 3).
    const cancelAgain = await runNono(api.url, OPERATOR, ['backfills', 'cancel', TASK, backfillId]);
    expect(cancelAgain.code).toBe(0);
    const finished = (list.json?.items as Array<{ backfillId: string; state: string }>).find(
      (b) => b.state === 'finished',
    );
    const cancelFinished = await runNono(api.url, OPERATOR, [
      'backfills',
      'cancel',
      TASK,
      String(finished?.backfillId),
    ]);
    expect(cancelFinished.code).toBe(3);
    const tooLarge = await runNono(api.url, OPERATOR, [
      'backfills',
      'start',
      TASK,
      '--from',
      '30d',
      '--dry-run',
    ]);
    expect(tooLarge.code).toBe(1);
    expect(tooLarge.stderr).toContain('to');
  }, 120_000);
});
