import { EventEmitter } from 'node:events';
import {
  type AssignmentDocument,
  type MemberInfo,
  type SessionState,
  ZkClient,
  type ZnodeLayout,
  assignmentDocument,
  isZkError,
  memberDocument,
} from '@nono/coordination';
import {
  type SchedulerTask,
  type TargetPolicy,
  checkRunnableTask,
  formatIssues,
  parseStoredTask,
  rebalance,
  sameOwnership,
} from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { Semaphore } from '../runner/semaphore.js';

export { type MemberInfo } from '@nono/coordination';

export type TaskDefinition =
  | { readonly kind: 'valid'; readonly task: SchedulerTask }
  | { readonly kind: 'invalid'; readonly problem: string }
  | { readonly kind: 'deleted' };

interface CoordinatorEvents {
  session: [state: 'connected' | 'suspended' | 'lost'];
  owned: [taskIds: ReadonlySet<string>];
  task: [taskId: string, definition: TaskDefinition];
  triggers: [names: readonly string[]];
  cancels: [names: readonly string[]];
  backfills: [names: readonly string[]];
  members: [members: readonly string[]];
  leadership: [isLeader: boolean];
}

export interface CoordinatorOptions {
  readonly connect: string;
  readonly sessionTimeoutMs: number;
  /** `user:password` for ZooKeeper (NONO_ZK_AUTH); what this scheduler creates is closed to others. */
  readonly zkAuth?: string | undefined;
  /** The API's target rules: a definition that breaks them (written past the API) is skipped. */
  readonly targetPolicy: TargetPolicy;
  readonly layout: ZnodeLayout;
  readonly member: MemberInfo;
  readonly log: Logger;
  /** Batches bursts of changes (300 tasks created at once) into one rebalance. */
  readonly rebalanceDebounceMs?: number;
  /**
   * How long the leader keeps the open-executions record of a scheduler that is gone. The next
   * owners read it when they adopt its tasks (within seconds); without it they would report
   * every execution it left listed as lost.
   */
  readonly openExecutionsRetentionMs?: number;
}

const OPEN_EXECUTIONS_RETENTION_MS = 10 * 60_000;
/**
 * The leader checks the assignment against the members and tasks this often even when no watch
 * fired: a rebalance churn fault run (tests/faults/under-load.faults.ts, 2026-12-02) had a leader
 * write the assignment once and never again while schedulers joined and left, for a cause not
 * found (a membership watch not fired, or a rebalance whose request never answered). A check
 * that changes nothing is three reads.
 */
const REBALANCE_CHECK_MS = 5_000;
/**
 * First reads of newly owned task definitions in flight at once. A scheduler given 50,000
 * tasks (the first to start, or a takeover) put 100,000 requests in its one ZooKeeper
 * connection together; on the 3-server ensemble they timed out in the client
 * (ZOPERATIONTIMEOUT on every one of the 50,000), the connection was dropped, and the retries
 * began the same burst again (docs/BENCHMARKS.md, "The cluster at scale").
 */
const DEFINITION_READS_IN_FLIGHT = 256;
/** A rebalance still running after this long no longer holds the next one back (its write is versioned). */
const REBALANCE_STUCK_MS = 20_000;

/**
 * The scheduler's view of the cluster, kept current through ZooKeeper watches:
 * its own membership (an ephemeral node), leader election, the assignment (which the
 * leader writes), the definitions of the tasks it owns, and manual trigger requests.
 *
 * Session semantics are explicit: `suspended` (disconnected; the session may still be
 * alive) means stop firing now; `lost` (expired) means everything this process knew is
 * void: it opens a new session, re-registers, re-reads, and only then reports ownership.
 */
export class Coordinator extends EventEmitter<CoordinatorEvents> {
  readonly #options: CoordinatorOptions;
  #zk: ZkClient | undefined;
  #stopped = false;
  #owned = new Set<string>();
  #members: string[] = [];
  #isLeader = false;
  #assignmentKnown = false;
  #rebalanceTimer: NodeJS.Timeout | undefined;
  #rebalancing = false;
  #rebalancingSince = 0;
  #rebalanceAgain = false;
  #rebalanceCheck: NodeJS.Timeout | undefined;
  #electionNode: string | undefined;
  #recordSweep: NodeJS.Timeout | undefined;
  /** When the leader first saw each scheduler's record without its member node. */
  readonly #absentSince = new Map<string, number>();
  readonly #definitionReads = new Semaphore(DEFINITION_READS_IN_FLIGHT);
  readonly #incarnations = new Map<string, { at: number; incarnation: string | undefined }>();

  constructor(options: CoordinatorOptions) {
    super();
    this.#options = options;
  }

  get zk(): ZkClient {
    if (this.#zk === undefined) throw new Error('no ZooKeeper session');
    return this.#zk;
  }

  get sessionState(): SessionState {
    return this.#zk?.state ?? 'connecting';
  }

  /** Ready = a live session and a known assignment (what /readyz reports). */
  get ready(): boolean {
    return this.#zk?.state === 'connected' && this.#assignmentKnown;
  }

  get isLeader(): boolean {
    return this.#isLeader;
  }

  get members(): readonly string[] {
    return this.#members;
  }

  get ownedTaskIds(): ReadonlySet<string> {
    return this.#owned;
  }

  /**
   * The process behind a live scheduler id (its member node's incarnation); undefined when the
   * id is not live. A restarted scheduler keeps its id but is another process. Read on demand
   * (only for executions past their deadline) and kept for a second.
   */
  async liveIncarnation(schedulerId: string): Promise<string | undefined> {
    const now = Date.now();
    const known = this.#incarnations.get(schedulerId);
    if (known !== undefined && now - known.at < 1_000) return known.incarnation;
    let incarnation: string | undefined;
    try {
      const parsed = memberDocument.parse(
        (await this.zk.get(this.#options.layout.scheduler(schedulerId))).data,
      );
      // A member node without one (an older version) is a live process of unknown incarnation.
      incarnation = parsed.ok ? (parsed.value.incarnation ?? 'unknown') : 'unknown';
    } catch (error) {
      if (!(isZkError(error) && error.isNoNode)) throw error;
    }
    this.#incarnations.set(schedulerId, { at: now, incarnation });
    return incarnation;
  }

  async start(): Promise<void> {
    await this.#openSession();
  }

  /** Leaves the cluster: closing the session removes our ephemeral nodes, so others take over at once. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#rebalanceTimer);
    clearInterval(this.#recordSweep);
    clearInterval(this.#rebalanceCheck);
    this.#zk?.close();
    this.#zk = undefined;
  }

  async #openSession(): Promise<void> {
    const { log, layout, member } = this.#options;
    for (let delay = 200; !this.#stopped; delay = Math.min(delay * 2, 5_000)) {
      let zk: ZkClient | undefined;
      try {
        zk = await ZkClient.connect({
          connect: this.#options.connect,
          sessionTimeoutMs: this.#options.sessionTimeoutMs,
          auth: this.#options.zkAuth,
        });
        const client = zk;
        client.on('state', (state) => this.#onSessionState(client, state));
        this.#zk = client;
        for (const parent of layout.parents) await client.ensurePath(parent);
        await this.#register(client, member);
        this.#electionNode = await client.create(`${layout.election}/n_`, member.id, 'ephemeral-sequential');
        log.info({ sessionId: client.sessionId, election: this.#electionNode }, 'joined the cluster');
        await Promise.all([
          this.#watchMembers(client),
          this.#watchAssignment(client),
          this.#watchTriggers(client),
          this.#watchCancels(client),
          this.#watchBackfills(client),
        ]);
        await this.#watchElection(client);
        await this.#watchTaskList(client);
        this.emit('session', 'connected');
        return;
      } catch (error) {
        log.warn({ err: error, retryInMs: delay }, 'could not join the cluster; retrying');
        zk?.close();
        if (this.#zk === zk) this.#zk = undefined;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async #register(client: ZkClient, member: MemberInfo): Promise<void> {
    const path = this.#options.layout.scheduler(member.id);
    for (let attempt = 0; ; attempt++) {
      try {
        await client.create(path, memberDocument.encode(member), 'ephemeral');
        return;
      } catch (error) {
        if (!(isZkError(error) && error.isNodeExists) || attempt > 50) throw error;
        // Our previous session's node (same id) lingers until that session expires.
        const stat = await client.exists(path);
        if (stat !== undefined && stat.ephemeralOwner !== client.sessionId) {
          this.#options.log.warn(
            { path },
            'member node of a previous ZooKeeper session still present; waiting for it to expire',
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  #onSessionState(client: ZkClient, state: SessionState): void {
    if (client !== this.#zk || this.#stopped) return;
    const { log } = this.#options;
    if (state === 'suspended') {
      log.warn('ZooKeeper connection suspended: firing stops until it is back');
      this.emit('session', 'suspended');
    } else if (state === 'connected') {
      log.info('ZooKeeper connection restored (same session)');
      this.emit('session', 'connected');
      void this.#readAssignment(client).catch((error: unknown) =>
        log.warn({ err: error }, 'assignment re-read failed'),
      );
    } else if (state === 'expired') {
      log.error('ZooKeeper session expired: dropping all tasks and rejoining');
      this.#zk = undefined;
      this.#owned = new Set();
      this.#assignmentKnown = false;
      this.#isLeader = false;
      client.close();
      this.emit('session', 'lost');
      this.emit('owned', this.#owned);
      void this.#openSession();
    }
  }

  /** Re-arms a watch-and-read step whenever its watch fires, for as long as the session is current. */
  #watched(
    client: ZkClient,
    what: string,
    read: (client: ZkClient, rearm: () => void) => Promise<void>,
  ): Promise<void> {
    const rearm = (): void => {
      if (client !== this.#zk || this.#stopped) return;
      read(client, rearm).catch((error: unknown) => {
        if (client !== this.#zk) return;
        this.#options.log.warn({ err: error, what }, 'watch read failed; retrying');
        setTimeout(rearm, 500);
      });
    };
    return read(client, rearm);
  }

  #watchMembers(client: ZkClient): Promise<void> {
    return this.#watched(client, 'members', async (zk, rearm) => {
      this.#members = await zk.children(this.#options.layout.schedulers, rearm);
      this.emit('members', this.#members);
      this.#scheduleRebalance();
    });
  }

  #watchElection(client: ZkClient): Promise<void> {
    return this.#watched(client, 'election', async (zk, rearm) => {
      const candidates = await zk.children(this.#options.layout.election, rearm);
      const lowest = [...candidates].sort()[0];
      const leader = lowest !== undefined && this.#electionNode?.endsWith(`/${lowest}`) === true;
      if (leader !== this.#isLeader) {
        this.#isLeader = leader;
        this.#options.log.info(
          { leader },
          leader ? 'became the leader: I write the assignment' : 'no longer the leader',
        );
        this.emit('leadership', leader);
        this.#sweepRecordsWhileLeader(leader);
        this.#checkAssignmentWhileLeader(leader);
      }
      this.#scheduleRebalance();
    });
  }

  #watchTaskList(client: ZkClient): Promise<void> {
    return this.#watched(client, 'tasks', async (zk, rearm) => {
      await zk.children(this.#options.layout.tasks, rearm);
      this.#scheduleRebalance();
    });
  }

  #watchTriggers(client: ZkClient): Promise<void> {
    return this.#watched(client, 'triggers', async (zk, rearm) => {
      this.emit('triggers', await zk.children(this.#options.layout.triggers, rearm));
    });
  }

  #watchCancels(client: ZkClient): Promise<void> {
    return this.#watched(client, 'cancels', async (zk, rearm) => {
      this.emit('cancels', await zk.children(this.#options.layout.cancels, rearm));
    });
  }

  #watchBackfills(client: ZkClient): Promise<void> {
    return this.#watched(client, 'backfills', async (zk, rearm) => {
      this.emit('backfills', await zk.children(this.#options.layout.backfills, rearm));
    });
  }

  #watchAssignment(client: ZkClient): Promise<void> {
    return this.#watched(client, 'assignment', async (zk, rearm) => {
      const stat = await zk.exists(this.#options.layout.assignment, rearm);
      if (stat !== undefined) await this.#readAssignment(zk);
    });
  }

  async #readAssignment(zk: ZkClient): Promise<void> {
    const current = await readAssignment(zk, this.#options.layout);
    if (zk !== this.#zk) return;
    if (current?.problem !== undefined)
      this.#options.log.error(
        { problem: current.problem },
        'assignment malformed: owning nothing until the leader rewrites it',
      );
    this.#assignmentKnown = true;
    const mine = new Set(current?.assignment.owners[this.#options.member.id] ?? []);
    const changed = mine.size !== this.#owned.size || [...mine].some((id) => !this.#owned.has(id));
    if (!changed) return;
    const previous = this.#owned;
    this.#owned = mine;
    this.emit('owned', mine);
    for (const taskId of mine) if (!previous.has(taskId)) this.#startWatchingTask(zk, taskId);
  }

  /**
   * The first read of a newly owned task, retried until it succeeds, the task is no longer ours
   * or the session is gone. Not awaited, so it must not reject: a read failing because the session
   * closed (a shutdown right after a take-over: ZCLOSING) once killed the process on SIGTERM.
   */
  #startWatchingTask(zk: ZkClient, taskId: string): void {
    void this.#definitionReads.acquire().then((release) => this.#firstRead(zk, taskId, release));
  }

  #firstRead(zk: ZkClient, taskId: string, release: () => void): void {
    // Gone from this ZooKeeper session or from our share while it waited for a slot: nothing to read.
    if (zk !== this.#zk || this.#stopped || !this.#owned.has(taskId)) {
      release();
      return;
    }
    this.#watchTask(zk, taskId)
      .finally(release)
      .catch((error: unknown) => {
        if (zk !== this.#zk || this.#stopped || !this.#owned.has(taskId)) return;
        this.#options.log.warn({ err: error, taskId }, 'task definition read failed; retrying');
        setTimeout(() => {
          if (zk === this.#zk && this.#owned.has(taskId)) this.#startWatchingTask(zk, taskId);
        }, 500);
      });
  }

  /** Watches one owned task's definition until it is no longer ours. */
  #watchTask(client: ZkClient, taskId: string): Promise<void> {
    return this.#watched(client, `task ${taskId}`, async (zk, rearm) => {
      if (!this.#owned.has(taskId)) return;
      const path = this.#options.layout.task(taskId);
      const stat = await zk.exists(path, rearm);
      if (stat === undefined) {
        this.emit('task', taskId, { kind: 'deleted' });
        return;
      }
      let data: Buffer;
      try {
        ({ data } = await zk.get(path));
      } catch (error) {
        if (isZkError(error) && error.isNoNode) return; // deleted in between: the exists watch reports it
        throw error;
      }
      this.emit('task', taskId, parseDefinition(taskId, data, this.#options.targetPolicy));
    });
  }

  #checkAssignmentWhileLeader(leader: boolean): void {
    clearInterval(this.#rebalanceCheck);
    this.#rebalanceCheck = undefined;
    if (!leader) return;
    this.#rebalanceCheck = setInterval(() => this.#scheduleRebalance(), REBALANCE_CHECK_MS);
    this.#rebalanceCheck.unref();
  }

  #sweepRecordsWhileLeader(leader: boolean): void {
    clearInterval(this.#recordSweep);
    this.#recordSweep = undefined;
    this.#absentSince.clear();
    if (!leader) return;
    const retentionMs = this.#options.openExecutionsRetentionMs ?? OPEN_EXECUTIONS_RETENTION_MS;
    this.#recordSweep = setInterval(
      () =>
        void this.#sweepRecords(retentionMs).catch((error: unknown) =>
          this.#options.log.warn({ err: error }, 'open-executions records: sweep failed; will retry'),
        ),
      Math.min(60_000, Math.max(500, retentionMs / 3)),
    );
    this.#recordSweep.unref();
  }

  /**
   * Deletes the open-executions records of schedulers gone for longer than the retention. The
   * absence is measured by this leader (from when it first saw it), so records outlive an
   * outage of the whole cluster until the restarted schedulers had time to adopt the tasks.
   */
  async #sweepRecords(retentionMs: number): Promise<void> {
    const zk = this.#zk;
    if (zk === undefined || !this.#isLeader) return;
    const { layout, log } = this.#options;
    const [records, members] = await Promise.all([
      zk.children(layout.openExecutions),
      zk.children(layout.schedulers),
    ]);
    const now = Date.now();
    const live = new Set(members);
    for (const id of [...this.#absentSince.keys()]) if (!records.includes(id)) this.#absentSince.delete(id);
    for (const id of records) {
      if (live.has(id)) {
        this.#absentSince.delete(id);
        continue;
      }
      const since = this.#absentSince.get(id) ?? now;
      this.#absentSince.set(id, since);
      if (now - since < retentionMs) continue;
      this.#absentSince.delete(id);
      // A scheduler that came back with this id in the meantime keeps its record.
      if ((await zk.exists(layout.scheduler(id))) !== undefined) continue;
      await zk.delete(layout.openExecutionsOf(id)).catch((error: unknown) => {
        if (!(isZkError(error) && error.isNoNode)) throw error;
      });
      log.info({ schedulerId: id }, 'deleted the open-executions record of a departed scheduler');
    }
  }

  #scheduleRebalance(): void {
    if (!this.#isLeader || this.#stopped) return;
    clearTimeout(this.#rebalanceTimer);
    this.#rebalanceTimer = setTimeout(() => void this.#rebalance(), this.#options.rebalanceDebounceMs ?? 50);
  }

  async #rebalance(): Promise<void> {
    if (this.#rebalancing && Date.now() - this.#rebalancingSince < REBALANCE_STUCK_MS) {
      this.#rebalanceAgain = true;
      return;
    }
    if (this.#rebalancing)
      this.#options.log.warn(
        { runningForMs: Date.now() - this.#rebalancingSince },
        'a rebalance has not finished: starting another beside it',
      );
    this.#rebalancing = true;
    const startedAt = (this.#rebalancingSince = Date.now());
    const zk = this.#zk;
    try {
      if (zk === undefined || !this.#isLeader) return;
      const { layout, log } = this.#options;
      const [members, taskIds, current] = await Promise.all([
        zk.children(layout.schedulers),
        zk.children(layout.tasks),
        readAssignment(zk, layout),
      ]);
      const next = rebalance(current?.assignment, members, taskIds);
      if (
        current !== undefined &&
        sameOwnership(current.assignment, next) &&
        current.assignment.members.join() === next.members.join()
      )
        return;
      const data = assignmentDocument.encode({
        ...next,
        members: [...next.members],
        owners: Object.fromEntries(
          Object.entries(next.owners).map(([member, tasks]) => [member, [...tasks]]),
        ),
        updatedAt: new Date().toISOString(),
        writtenBy: this.#options.member.id,
      });
      try {
        if (current === undefined) await zk.create(layout.assignment, data);
        else await zk.set(layout.assignment, data, current.version);
        log.info(
          { generation: next.generation, members: next.members.length, tasks: taskIds.length },
          'assignment written',
        );
      } catch (error) {
        if (isZkError(error) && (error.isBadVersion || error.isNodeExists)) this.#rebalanceAgain = true;
        else throw error;
      }
    } catch (error) {
      this.#options.log.warn({ err: error }, 'rebalance failed; will retry');
      this.#rebalanceAgain = true;
    } finally {
      // A rebalance overtaken by a newer one (see REBALANCE_STUCK_MS) leaves the flag to it.
      if (this.#rebalancingSince === startedAt) this.#rebalancing = false;
      if (this.#rebalanceAgain) {
        this.#rebalanceAgain = false;
        this.#scheduleRebalance();
      }
    }
  }
}

/**
 * The leader's assignment; undefined before one is written. One that does not parse reads as
 * empty, with the `problem` named: nobody owns anything until the leader writes it anew.
 */
export async function readAssignment(
  zk: ZkClient,
  layout: ZnodeLayout,
): Promise<{ assignment: AssignmentDocument; version: number; problem?: string } | undefined> {
  let data: Buffer;
  let version: number;
  try {
    const read = await zk.get(layout.assignment);
    data = read.data;
    version = read.stat.version;
  } catch (error) {
    if (isZkError(error) && error.isNoNode) return undefined;
    throw error;
  }
  const parsed = assignmentDocument.parse(data);
  if (!parsed.ok)
    return {
      assignment: { generation: 0, members: [], owners: {} },
      version,
      problem: formatIssues(parsed.issues),
    };
  return { assignment: parsed.value, version };
}

function parseDefinition(taskId: string, data: Buffer, policy: TargetPolicy): TaskDefinition {
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch (error) {
    return { kind: 'invalid', problem: `not JSON: ${(error as Error).message}` };
  }
  const parsed = parseStoredTask(json);
  if (!parsed.ok)
    return { kind: 'invalid', problem: parsed.issues.map((i) => `${i.field}: ${i.message}`).join('; ') };
  if (parsed.value.id !== taskId)
    return { kind: 'invalid', problem: `id "${parsed.value.id}" does not match its znode "${taskId}"` };
  const broken = checkRunnableTask(parsed.value, policy);
  if (broken.length > 0)
    return { kind: 'invalid', problem: broken.map((i) => `${i.field}: ${i.message}`).join('; ') };
  return { kind: 'valid', task: parsed.value };
}
