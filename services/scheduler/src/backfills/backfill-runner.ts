import {
  type Backfill,
  type ZkClient,
  type ZnodeLayout,
  backfillDocument,
  isZkError,
} from '@nono/coordination';
import {
  type Clock,
  type NonoEvent,
  type SchedulerTask,
  attemptAt,
  createEvent,
  decodeInstantRuns,
  executionBudgetMs,
  formatInstant,
  scheduledExecutionId,
  uuidV5,
} from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { type EventSink } from '../events/event-spool.js';
import { type ExecutionEvents } from '../events/execution-events.js';
import { type RunEnd, type RunnableFire } from '../runner/execution-runner.js';

/** What the runner needs of the engine: which tasks fire here, and its execution runner. */
export interface BackfillEngine {
  firingTask(taskId: string): SchedulerTask | undefined;
  runBackfill(task: SchedulerTask, fire: RunnableFire): Promise<RunEnd>;
}

export interface BackfillRunnerOptions {
  readonly zk: () => ZkClient;
  readonly layout: ZnodeLayout;
  readonly schedulerId: string;
  /** This process (random per start): a claim of another process with our id was lost with it. */
  readonly incarnation: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events: EventSink;
  readonly facts: ExecutionEvents;
  readonly engine: BackfillEngine;
  /** The process behind a live scheduler id (undefined: not live). */
  readonly liveIncarnation: (schedulerId: string) => Promise<string | undefined>;
  /** How often a run re-reads its document when nothing else wakes it (a cancel is seen within this). */
  readonly pollMs?: number;
  /** How often a running backfill publishes its progress fact. */
  readonly progressEveryMs?: number;
}

type Outcome = 'succeeded' | 'failed' | 'lost';

/**
 * Runs the backfills of the tasks this scheduler owns (`/backfills/<taskId>@<id>`). One loop
 * per backfill, alone in writing its document from this process: it reads the document,
 * writes in one compare-and-set the outcomes of calls that ended, the claims a dead
 * scheduler left (recorded lost, never refired: the call may have reached the worker) and
 * the next instants to call, at most `concurrency` in flight and `ratePerSecond` started per
 * second; then it starts the instants it claimed. A scheduler that takes the task over
 * continues from the cursor, so no instant is claimed twice.
 */
export class BackfillRunner {
  readonly #o: BackfillRunnerOptions;
  #listed: readonly string[] = [];
  readonly #runs = new Map<string, Promise<void>>();
  /** Backfills seen over (finished, cancelled with nothing in flight): not read again. */
  readonly #over = new Set<string>();
  #stopped = false;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(options: BackfillRunnerOptions) {
    this.#o = options;
    // Ownership and definitions change without a new listing: look again now and then.
    this.#timer = setInterval(() => this.#startRuns(), 2_000);
    this.#timer.unref();
  }

  /** The current listing of `/backfills` (a children watch). */
  handle(names: readonly string[]): void {
    this.#listed = names;
    for (const name of this.#over) if (!names.includes(name)) this.#over.delete(name);
    this.#startRuns();
  }

  /** Ownership or a definition changed: a backfill of a task owned now starts here. */
  refresh(): void {
    this.#startRuns();
  }

  /** Stops claiming; calls already started finish (the engine's drain waits for them). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await Promise.allSettled([...this.#runs.values()]);
  }

  #startRuns(): void {
    if (this.#stopped) return;
    for (const name of this.#listed) {
      if (this.#runs.has(name) || this.#over.has(name)) continue;
      const at = name.indexOf('@');
      if (at <= 0) continue;
      const taskId = name.slice(0, at);
      if (this.#o.engine.firingTask(taskId) === undefined) continue;
      const run = this.#run(name, taskId)
        .catch((error: unknown) => {
          this.#o.log.warn({ err: error, backfill: name }, 'backfill run stopped; will resume');
        })
        .finally(() => this.#runs.delete(name));
      this.#runs.set(name, run);
    }
  }

  async #run(name: string, taskId: string): Promise<void> {
    const { clock, log } = this.#o;
    const path = `${this.#o.layout.backfills}/${name}`;
    const pollMs = this.#o.pollMs ?? 1_000;
    const progressEveryMs = this.#o.progressEveryMs ?? 5_000;
    /** Calls started by this loop and not written back yet, by index in the plan. */
    const mine = new Set<number>();
    /** Outcomes not written yet, by index. */
    const ended = new Map<number, Outcome>();
    let wake: (() => void) | undefined;
    let nextStartAt = 0;
    let lastProgressAt = clock.now();
    let instants: number[] | undefined;

    for (;;) {
      const read = await this.#read(path);
      if (read === undefined) return; // deleted with its task
      const { backfill, version } = read;
      instants ??= decodeInstantRuns(backfill.instants);
      const now = clock.now();
      const task = this.#stopped ? undefined : this.#o.engine.firingTask(taskId);
      const next: Backfill = { ...backfill, inflight: { ...backfill.inflight }, lost: [...backfill.lost] };
      const applied: number[] = [];
      const lostNow: { index: number; schedulerId: string }[] = [];

      for (const [index, outcome] of ended) {
        const key = String(index);
        const claim = next.inflight[key];
        if (claim?.schedulerId !== this.#o.schedulerId || claim.incarnation !== this.#o.incarnation) {
          applied.push(index); // taken off by someone else meanwhile (recorded lost): nothing to write
          continue;
        }
        delete next.inflight[key];
        if (outcome === 'succeeded') next.succeeded += 1;
        else if (outcome === 'failed') next.failed += 1;
        else next.lost.push(instants[index] ?? 0);
        applied.push(index);
      }
      // Claims of processes that are gone: their calls may or may not have reached the worker.
      // Recorded lost, like the fire state's lost executions, and not refired: a new backfill
      // of the window fires those that did not succeed. Only the task's owner judges them.
      if (task !== undefined)
        for (const [key, claim] of Object.entries(next.inflight)) {
          if (claim.schedulerId === this.#o.schedulerId && claim.incarnation === this.#o.incarnation)
            continue;
          if ((await this.#o.liveIncarnation(claim.schedulerId)) === claim.incarnation) continue;
          delete next.inflight[key];
          next.lost.push(instants[Number(key)] ?? 0);
          lostNow.push({ index: Number(key), schedulerId: claim.schedulerId });
        }

      const claimed: number[] = [];
      if (backfill.state === 'running' && task !== undefined) {
        if (task.createdAt !== backfill.taskIncarnation) {
          next.state = 'abandoned';
          next.note = 'the task was deleted and defined again: its instants are another task';
        } else if (now >= nextStartAt) {
          const free = backfill.concurrency - Object.keys(next.inflight).length;
          const intervalMs = 1_000 / backfill.ratePerSecond;
          // Several per write at high rates (one write per 200 ms or so), one at a time otherwise.
          const batch = Math.max(1, Math.floor(200 / intervalMs));
          const count = Math.min(free, backfill.total - backfill.cursor, batch);
          for (let k = 0; k < count; k++) {
            const index = backfill.cursor + k;
            next.inflight[String(index)] = {
              schedulerId: this.#o.schedulerId,
              incarnation: this.#o.incarnation,
              claimedAt: now,
            };
            claimed.push(index);
          }
          next.cursor = backfill.cursor + count;
          if (count > 0) nextStartAt = now + count * intervalMs;
        }
      }
      if (next.state === 'running' && next.cursor >= next.total && Object.keys(next.inflight).length === 0)
        next.state = 'finished';

      const changed =
        applied.length > 0 || lostNow.length > 0 || claimed.length > 0 || next.state !== backfill.state;
      let fencingToken = 0;
      if (changed) {
        next.updatedAt = formatInstant(now);
        try {
          const stat = await this.#o.zk().set(path, backfillDocument.encode(next), version);
          fencingToken = stat.mzxid;
        } catch (error) {
          // Someone else wrote it (a cancel, a takeover): read again; nothing claimed here runs.
          if (isZkError(error) && error.isBadVersion) continue;
          if (isZkError(error) && error.isNoNode) return;
          throw error;
        }
        for (const index of applied) {
          ended.delete(index);
          mine.delete(index);
        }
        this.#reportLost(backfill, instants, lostNow, fencingToken);
      }

      for (const index of claimed) {
        const nominal = instants[index];
        if (nominal === undefined || task === undefined) continue;
        const firstAttempt = attemptAt(backfill.attempts, index);
        mine.add(index);
        const fire: RunnableFire = {
          executionId: scheduledExecutionId(taskId, nominal),
          nominal,
          reason: 'backfill',
          fencingToken,
          firstAttempt,
          uncountedAttempts: firstAttempt - 1,
          deadlineAt: now + executionBudgetMs(task),
        };
        void this.#o.engine.runBackfill(task, fire).then((end) => {
          // Abandoned (no terminal fact: the process stalled past the deadline) counts as lost.
          ended.set(index, end === 'succeeded' ? 'succeeded' : end === 'abandoned' ? 'lost' : 'failed');
          wake?.();
        });
      }

      const over = next.state !== 'running';
      if ((changed && now - lastProgressAt >= progressEveryMs) || (over && mine.size === 0)) {
        lastProgressAt = now;
        this.#o.events.append([this.#progressEvent(next, over && mine.size === 0)]);
      }
      if (over && mine.size === 0) {
        if (Object.keys(next.inflight).length === 0) this.#over.add(name);
        log.info(
          {
            taskId,
            backfill: backfill.backfillId,
            state: next.state,
            succeeded: next.succeeded,
            failed: next.failed,
            lost: next.lost.length,
          },
          'backfill over',
        );
        return;
      }
      if (task === undefined && mine.size === 0) return; // not ours now: its owner continues
      if (ended.size > 0) continue;
      const waitMs = Math.max(10, Math.min(pollMs, nextStartAt - clock.now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  #reportLost(
    backfill: Backfill,
    instants: readonly number[],
    lost: readonly { index: number; schedulerId: string }[],
    fencingToken: number,
  ): void {
    if (lost.length === 0) return;
    const now = this.#o.clock.now();
    const events = lost.map(({ index, schedulerId }) => {
      const nominal = instants[index] ?? 0;
      const executionId = scheduledExecutionId(backfill.taskId, nominal);
      return this.#o.facts.create('nono.execution.lost.v1', {
        ...this.#o.facts.ref(backfill.taskId, executionId, nominal, fencingToken),
        // The backfill's attempt: the fact is about its call, not the original one.
        attempt: attemptAt(backfill.attempts, index),
        reason: 'backfill',
        detectedAt: formatInstant(now),
        lostSchedulerId: schedulerId,
        rerun: false,
      });
    });
    this.#o.log.warn(
      { taskId: backfill.taskId, backfill: backfill.backfillId, lost: lost.length },
      'backfill calls in flight on a scheduler that is gone: recorded lost, not refired',
    );
    this.#o.events.append(events);
  }

  #progressEvent(backfill: Backfill, over: boolean): NonoEvent {
    const counts = {
      taskId: backfill.taskId,
      backfillId: backfill.backfillId,
      schedulerId: this.#o.schedulerId,
      total: backfill.total,
      started: backfill.cursor,
      succeeded: backfill.succeeded,
      failed: backfill.failed,
      lost: backfill.lost.length,
    };
    const meta = (id: string) => ({
      id,
      source: `nono://scheduler/${this.#o.schedulerId}`,
      subject: backfill.taskId,
      time: this.#o.clock.now(),
    });
    if (over && backfill.state !== 'running') {
      const type = 'nono.task.backfill-finished.v1';
      // One end per backfill, whoever reports it and however often.
      return createEvent(
        type,
        { ...counts, state: backfill.state },
        meta(uuidV5(`${type}|${backfill.taskId}|${backfill.backfillId}`)),
      );
    }
    const type = 'nono.task.backfill-progressed.v1';
    return createEvent(
      type,
      counts,
      meta(
        uuidV5(
          `${type}|${backfill.backfillId}|${backfill.cursor}|${backfill.succeeded}|${backfill.failed}|${backfill.lost.length}`,
        ),
      ),
    );
  }

  async #read(path: string): Promise<{ backfill: Backfill; version: number } | undefined> {
    try {
      const { data, stat } = await this.#o.zk().get(path);
      const parsed = backfillDocument.parse(data);
      if (!parsed.ok) {
        this.#o.log.error({ path, issues: parsed.issues }, 'backfill document does not parse: not run');
        return undefined;
      }
      return { backfill: parsed.value, version: stat.version };
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw error;
    }
  }
}
