/**
 * Where everything lives in ZooKeeper, under a configurable root (default `/nono`).
 * This file is the contract between the API (which writes tasks and trigger requests)
 * and the schedulers (which own, fence and fire them). docs/ARCHITECTURE.md describes it.
 */
export class ZnodeLayout {
  readonly root: string;

  constructor(root = '/nono') {
    if (!/^(\/[A-Za-z0-9._-]+)+$/.test(root))
      throw new RangeError(`ZooKeeper root must look like /nono, got "${root}"`);
    this.root = root;
  }

  /** One child per task; data = SchedulerTask JSON; the znode version is the API's ETag. */
  get tasks(): string {
    return `${this.root}/tasks`;
  }
  task(taskId: string): string {
    return `${this.tasks}/${taskId}`;
  }

  /** One ephemeral child per live scheduler; data = member info JSON. */
  get schedulers(): string {
    return `${this.root}/schedulers`;
  }
  scheduler(schedulerId: string): string {
    return `${this.schedulers}/${schedulerId}`;
  }

  /** Ephemeral-sequential candidates; the lowest one writes the assignment. */
  get election(): string {
    return `${this.root}/election`;
  }

  /** The assignment of tasks to schedulers, written by the leader; data = Assignment JSON. */
  get assignment(): string {
    return `${this.root}/assignment`;
  }

  /**
   * Per-task fire state, advanced by compare-and-set before every fire (the fence). It
   * also lists the executions in flight, so a new owner finds those a dead scheduler left.
   */
  get fireStates(): string {
    return `${this.root}/fire-state`;
  }
  fireState(taskId: string): string {
    return `${this.fireStates}/${taskId}`;
  }

  /**
   * Per scheduler (persistent, one per scheduler id): which of its executions are still
   * open, written in batches. Tells a new owner which fire-state entries a dead scheduler
   * left finished and which lost (services/scheduler/src/open-executions.ts).
   */
  get openExecutions(): string {
    return `${this.root}/open-executions`;
  }
  openExecutionsOf(schedulerId: string): string {
    return `${this.openExecutions}/${schedulerId}`;
  }

  /**
   * Manual trigger requests, flat: `${triggers}/${taskId}@${requestId}` (task ids never
   * contain "@"). Flat so every scheduler needs one children watch, not one per task.
   */
  get triggers(): string {
    return `${this.root}/triggers`;
  }
  trigger(taskId: string, requestId: string): string {
    return `${this.triggers}/${taskId}@${requestId}`;
  }
  static parseTriggerName(name: string): { taskId: string; requestId: string } | undefined {
    const at = name.indexOf('@');
    return at <= 0 ? undefined : { taskId: name.slice(0, at), requestId: name.slice(at + 1) };
  }

  /**
   * Operators' requests to cancel a running execution, flat like triggers:
   * `${cancels}/${taskId}@${executionId}`; the task's owner cancels it and deletes the request.
   */
  get cancels(): string {
    return `${this.root}/cancels`;
  }
  cancel(taskId: string, executionId: string): string {
    return `${this.cancels}/${taskId}@${executionId}`;
  }

  /**
   * Backfills, flat like triggers: `${backfills}/${taskId}@${backfillId}`, each a backfill
   * document (plan, claims, progress); written by the API, run by the task's owner, kept when
   * over so their progress stays readable (the API deletes them with the task).
   */
  get backfills(): string {
    return `${this.root}/backfills`;
  }
  backfill(taskId: string, backfillId: string): string {
    return `${this.backfills}/${taskId}@${backfillId}`;
  }

  /**
   * The API's audit outbox: persistent-sequential `e-<seq>` children, each an outbox entry
   * (an audit event written before the change it describes; services/api/src/audit).
   */
  get outbox(): string {
    return `${this.root}/outbox`;
  }

  /** Named API tokens, one child per token name; data = api token document (hash, role, expiry). */
  get apiTokens(): string {
    return `${this.root}/api-tokens`;
  }
  apiToken(name: string): string {
    return `${this.apiTokens}/${name}`;
  }

  /**
   * Standard Webhooks secrets per task (`tasks/<taskId>`) and per target host
   * (`hosts/<host[:port]>`), sealed; written by the API, watched by every scheduler.
   */
  get webhookSecrets(): string {
    return `${this.root}/webhook-secrets`;
  }
  webhookSecretsParent(scope: 'task' | 'host'): string {
    return `${this.webhookSecrets}/${scope === 'task' ? 'tasks' : 'hosts'}`;
  }
  webhookSecretsOf(scope: 'task' | 'host', key: string): string {
    return `${this.webhookSecretsParent(scope)}/${key}`;
  }

  /** Exclusion calendars, one child per name; data = calendar document; the znode version is the API's ETag. */
  get calendars(): string {
    return `${this.root}/calendars`;
  }
  calendar(name: string): string {
    return `${this.calendars}/${name}`;
  }

  /** Worker group definitions, one child per group; data = worker group document. */
  get workerGroups(): string {
    return `${this.root}/worker-groups`;
  }
  workerGroup(name: string): string {
    return `${this.workerGroups}/${name}`;
  }

  /** Dynamic members: `worker-leases/<group>/<memberId>`, each a member lease document. */
  get workerLeases(): string {
    return `${this.root}/worker-leases`;
  }
  workerLeasesOf(group: string): string {
    return `${this.workerLeases}/${group}`;
  }
  workerLease(group: string, memberId: string): string {
    return `${this.workerLeasesOf(group)}/${memberId}`;
  }

  /** Per live scheduler (ephemeral): the group members its passive health checks took out. */
  get workerHealth(): string {
    return `${this.root}/worker-health`;
  }
  workerHealthOf(schedulerId: string): string {
    return `${this.workerHealth}/${schedulerId}`;
  }

  /** The persistent parents every process makes sure exist at start. */
  get parents(): string[] {
    return [
      this.tasks,
      this.schedulers,
      this.election,
      this.fireStates,
      this.openExecutions,
      this.triggers,
      this.apiTokens,
      this.webhookSecrets,
      this.webhookSecretsParent('task'),
      this.webhookSecretsParent('host'),
      this.calendars,
      this.cancels,
      this.backfills,
      this.workerGroups,
      this.workerLeases,
      this.workerHealth,
    ];
  }
}
