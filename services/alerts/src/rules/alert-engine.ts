import {
  type Actor,
  type AlertConditionKind,
  type AlertRule,
  type AlertRuleSpec,
  type EventData,
  type EventType,
  type LedgerDefinition,
  type NonoEvent,
  type SchedulerTask,
  createEvent,
  formatInstant,
  isClusterCondition,
  isValidAlertRuleId,
  parseInstant,
  ruleCovers,
  uuidV5,
} from '@nono/domain';
import { type AlertRow, type AlertStore, type StoredRule } from '../store/alert-store.js';
import { AlertsError, AlertsErrorCode } from './alert-errors.js';
import { type AlertView, alertView } from './alert-view.js';
import {
  type ExecutionEvent,
  type Occurrence,
  type TaskContext,
  clearsAlert,
  conditionsOccurringOn,
  isExecutionEvent,
  isFinalFailure,
  lagExceeded,
  occurrenceOf,
} from './conditions.js';
import { missedInstants } from './dead-man.js';
import { type ClusterEvent, anyLive, isClusterEvent, membershipChange } from './membership.js';
import { RuleIndex } from './rule-index.js';

/** The transitions that reach a rule's channels; acknowledging and silencing are only events. */
export type NotifiedTransition = 'opened' | 'renotified' | 'resolved';

/** What a channel is sent: fixed when the transition is decided, the same on every retry. */
export interface NotificationContent {
  readonly idempotencyKey: string;
  readonly transition: NotifiedTransition;
  readonly at: string;
  readonly rule: { readonly id: string; readonly name: string };
  readonly alert: AlertView;
}

export interface AlertEngineOptions {
  readonly store: AlertStore;
  /** CloudEvents `source` of the alert events. */
  readonly source: string;
  /** See `missedInstants`: the ledger's transition window. */
  readonly transitionMs: number;
  /** At most this many due instants judged per rule and task and check (more: the window is skipped, and logged). */
  readonly maxInstantsPerCheck?: number;
  readonly onSkippedWindow?: (ruleId: string, taskId: string, instants: number) => void;
}

type AlertTransitionType =
  | 'nono.alert.opened.v1'
  | 'nono.alert.renotified.v1'
  | 'nono.alert.resolved.v1'
  | 'nono.alert.acknowledged.v1'
  | 'nono.alert.silenced.v1';

/**
 * Decides alert transitions. Every method runs inside the caller's transaction (or opens
 * one, for the HTTP and clock-driven ones) and writes the alert change, its event (event
 * outbox) and its notifications (notification outbox) together.
 *
 * Replays give the same result: stream-driven decisions use the event's time, never the
 * clock, and every id is derived (an alert's from its rule, task and the occurrence that
 * opened it; an event's and an idempotency key's from the alert and the transition), so the
 * records re-read after a crash make the same alerts, the same events and the same keys.
 */
export class AlertEngine {
  readonly #options: AlertEngineOptions;
  readonly #store: AlertStore;
  #rules: StoredRule[] | undefined;
  #enabledKinds: Set<AlertConditionKind> | undefined;
  #rulesById: Map<string, AlertRule> | undefined;
  readonly #rulesByEventType = new Map<ExecutionEvent['type'], RuleIndex<StoredRule>>();
  /**
   * Each task's definition history, parsed once (a stored definition is validated on
   * parse, which dominated the cost of judging an event when done per event). Appended to
   * by task events; dropped whole when a transaction fails (`forgetCaches`), since it may
   * then hold definitions that were rolled back.
   */
  #definitions = new Map<string, LedgerDefinition[]>();
  /** Each task's failure streak as last written (see #streakAfter). */
  readonly #streaks = new Map<string, number>();

  constructor(options: AlertEngineOptions) {
    this.#options = options;
    this.#store = options.store;
  }

  #enabledRules(): StoredRule[] {
    this.#rules ??= this.#store.listRules();
    return this.#rules.filter((stored) => stored.rule.enabled);
  }

  /** Whether an enabled rule has a condition of `kind` (recomputed when the rules change). */
  #watches(kind: AlertConditionKind): boolean {
    if (this.#rules === undefined || this.#enabledKinds === undefined)
      this.#enabledKinds = new Set(this.#enabledRules().map(({ rule }) => rule.condition.kind));
    return this.#enabledKinds.has(kind);
  }

  /**
   * Judges one validated, not-yet-seen event (inside the consumer's transaction). The
   * event's time dates the alert changes; `decidedAt` (the clock) dates the notifications,
   * whose retries and give-up are about delivery, not about the fact.
   */
  apply(event: NonoEvent, decidedAt: number): void {
    const at = parseInstant(event.time) ?? 0;
    const when = { at, decidedAt };
    switch (event.type) {
      case 'nono.task.defined.v1':
      case 'nono.task.updated.v1':
      case 'nono.task.paused.v1':
      case 'nono.task.resumed.v1':
        this.#saveDefinition(event.data.taskId, at, event.id, event.data.after);
        return;
      case 'nono.task.deleted.v1':
        this.#saveDefinition(event.data.taskId, at, event.id, undefined);
        for (const alert of this.#store.openAlertsOf({ taskId: event.data.taskId }))
          this.#resolve(alert, this.#ruleOf(alert.ruleId), 'task-deleted', when);
        return;
      default:
        if (isExecutionEvent(event)) this.#applyExecution(event, when);
        else if (isClusterEvent(event)) this.#applyCluster(event, when);
    }
  }

  #applyExecution(event: ExecutionEvent, when: When): void {
    const taskId = event.data.taskId;
    const succeeded = event.type === 'nono.execution.succeeded.v1';
    if (succeeded && event.data.reason !== 'manual')
      this.#store.recordSuccess(taskId, Date.parse(event.data.nominalTime));
    const finalFailure = isFinalFailure(event);
    // Outcomes are kept only while a success-rate rule may count them (a rule watches from
    // its creation on), not a row per fact for nothing.
    const rates = this.#watches('success-rate');
    if (rates && (succeeded || finalFailure))
      this.#store.recordOutcome(taskId, when.at, event.data.executionId, succeeded);
    const streak = this.#streakAfter(taskId, succeeded, finalFailure);
    const context: TaskContext = {
      streak,
      outcomes: (windowMs) => this.#store.outcomes(taskId, when.at - windowMs, when.at),
    };
    // Only a success, a fire (lateness) or a final failure (success rate) can clear an alert:
    // the task's open alerts are read for those alone.
    const mayClear =
      succeeded ||
      (event.type === 'nono.execution.fired.v1' && this.#watches('lateness-above')) ||
      (finalFailure && rates);
    if (mayClear)
      for (const alert of this.#store.openAlertsOf({ taskId })) {
        const rule = this.#ruleOf(alert.ruleId);
        if (clearsAlert(event, alert, rule?.condition, context)) this.#resolve(alert, rule, 'cleared', when);
      }
    const candidates = this.#rulesMatching(event.type);
    if (candidates.size === 0) return;
    const labels = this.#definitionsOf(taskId).at(-1)?.task?.labels;
    for (const { rule, createdAt } of candidates.covering(taskId, labels)) {
      // A rule watches from its creation on: a backlog read later holds no older fact against a task.
      if (when.at < createdAt) continue;
      const occurrence = occurrenceOf(rule.condition, event, context);
      if (occurrence !== undefined) this.#occur(rule, occurrence, when);
    }
  }

  /**
   * The task's failure streak after this fact: reset by a success, one more after a final
   * failure. A success on a task whose streak is known to be 0 writes nothing (most facts are
   * such successes); the streaks seen are remembered, and forgotten with the other caches
   * when a transaction fails.
   */
  #streakAfter(taskId: string, succeeded: boolean, finalFailure: boolean): number {
    if (succeeded) {
      if (this.#streaks.get(taskId) !== 0) {
        this.#store.bumpStreak(taskId, true);
        this.#streaks.set(taskId, 0);
      }
      return 0;
    }
    if (!finalFailure) return 0;
    const streak = this.#store.bumpStreak(taskId, false);
    this.#streaks.set(taskId, streak);
    return streak;
  }

  /**
   * The enabled rules an execution event of `type` can be an occurrence of, indexed by scope
   * (an event is then matched only against the rules that take its task in), per type, kept
   * with the rules.
   */
  #rulesMatching(type: ExecutionEvent['type']): RuleIndex<StoredRule> {
    if (this.#rules === undefined) this.#rulesByEventType.clear();
    let rules = this.#rulesByEventType.get(type);
    if (rules === undefined) {
      const kinds = conditionsOccurringOn(type);
      rules = new RuleIndex(this.#enabledRules().filter(({ rule }) => kinds.has(rule.condition.kind)));
      this.#rulesByEventType.set(type, rules);
    }
    return rules;
  }

  /**
   * A cluster fact: who is live changes. A departure is an occurrence of every
   * `scheduler-left` rule (its alert is about `scheduler:<id>`) and the scheduler's return
   * resolves it; the last live scheduler going starts the `no-scheduler` clock (judged by
   * `checkCluster`), and any scheduler joining resolves that alert.
   */
  #applyCluster(event: ClusterEvent, when: When): void {
    const members = this.#store.members();
    const change = membershipChange(members, event, when.at);
    for (const [id, member] of change.updates) this.#store.saveMember(id, member);
    const wasLive = anyLive(members, new Map());
    const isLive = anyLive(members, change.updates);
    if (wasLive && !isLive) this.#store.saveClusterMark(NO_SCHEDULER_SINCE, when.at);
    if (isLive) this.#store.saveClusterMark(NO_SCHEDULER_SINCE, undefined);
    for (const schedulerId of change.joined)
      for (const alert of this.#store.openAlertsOf({ taskId: schedulerSubject(schedulerId) }))
        this.#resolve(alert, this.#ruleOf(alert.ruleId), 'cleared', when);
    if (isLive)
      for (const alert of this.#store.openAlertsOf({ taskId: NO_SCHEDULER_SUBJECT }))
        this.#resolve(alert, this.#ruleOf(alert.ruleId), 'cleared', when);
    for (const departure of change.departed)
      for (const { rule, createdAt } of this.#enabledRules()) {
        if (when.at < createdAt || rule.condition.kind !== 'scheduler-left') continue;
        this.#occur(
          rule,
          {
            taskId: schedulerSubject(departure.schedulerId),
            condition: 'scheduler-left',
            summary:
              departure.reason === 'vanished'
                ? `scheduler ${departure.schedulerId} is gone (no longer a member, seen by ${departure.detectedBy})`
                : `scheduler ${departure.schedulerId} left (${departure.reason})`,
            causeId: event.id,
            executionId: undefined,
            nominal: undefined,
          },
          when,
        );
      }
  }

  /**
   * The clock-driven cluster conditions, judged on every check whether or not the consumer
   * has caught up: `no-scheduler` once the last known scheduler has been gone for the grace,
   * `consumer-lag` from the lags measured by the caller (undefined: not known, no judgement).
   * A condition that still holds counts again on its open alert only when a re-notification
   * is due, not on every check. False when no rule has such a condition (nothing judged).
   */
  checkCluster(now: number, lags: { readonly alerts?: number; readonly history?: number }): boolean {
    const rules = this.#enabledRules().filter(({ rule }) => isClusterCondition(rule.condition));
    if (rules.length === 0) return false;
    const when = { at: now, decidedAt: now };
    this.#store.transaction(() => {
      const noneSince = this.#store.clusterMark(NO_SCHEDULER_SINCE);
      for (const { rule, createdAt } of rules) {
        const { condition } = rule;
        if (condition.kind === 'no-scheduler') {
          if (noneSince === undefined || now - Math.max(noneSince, createdAt) < condition.graceMs) continue;
          this.#occurOnce(
            rule,
            {
              taskId: NO_SCHEDULER_SUBJECT,
              condition: 'no-scheduler',
              summary: `no scheduler has been live since ${formatInstant(noneSince)}: nothing fires`,
              causeId: `no-scheduler|${noneSince}`,
              executionId: undefined,
              nominal: undefined,
            },
            when,
          );
        } else if (condition.kind === 'consumer-lag') {
          const exceeded = lagExceeded(condition, lags);
          const subject = lagSubject(condition.consumer);
          if (exceeded === true)
            this.#occurOnce(
              rule,
              {
                taskId: subject,
                condition: 'consumer-lag',
                summary: `the ${condition.consumer} consumer is ${lags[condition.consumer]} records behind (over ${condition.aboveRecords})`,
                causeId: `consumer-lag|${now}`,
                executionId: undefined,
                nominal: undefined,
              },
              when,
            );
          else if (exceeded === false) {
            const open = this.#store.openAlert(rule.id, subject);
            if (open !== undefined) this.#resolve(open, rule, 'cleared', when);
          }
        }
      }
    });
    return true;
  }

  /** An occurrence of a lasting state: opens, or counts on the open alert only when a re-notification is due. */
  #occurOnce(rule: AlertRule, occurrence: Occurrence, when: When): void {
    const open = this.#store.openAlertCounters(rule.id, occurrence.taskId);
    if (
      open === undefined ||
      (rule.renotifyEveryMs > 0 && when.at - open.lastNotifiedAt >= rule.renotifyEveryMs)
    )
      this.#occur(rule, occurrence, when);
  }

  /** Whether a rule needs a consumer's lag measured (each check asks, so measuring costs nothing without one). */
  lagsWanted(): ReadonlySet<'alerts' | 'history'> {
    const wanted = new Set<'alerts' | 'history'>();
    for (const { rule } of this.#enabledRules())
      if (rule.condition.kind === 'consumer-lag') wanted.add(rule.condition.consumer);
    return wanted;
  }

  /**
   * The dead-man check: for every enabled dead-man rule and every defined task it covers,
   * the due instants since the last check up to `now - grace` without a succeeded
   * execution each count as an occurrence. Judged from where the previous check stopped
   * (or the rule's creation, or the task's first definition), so a restart neither
   * re-judges nor skips an instant.
   */
  checkDeadMen(now: number): number {
    const deadMen = this.#enabledRules().filter((stored) => stored.rule.condition.kind === 'dead-man');
    if (deadMen.length === 0) return 0;
    const taskIds = this.#store.definedTaskIds();
    let missed = 0;
    for (const stored of deadMen) {
      const { rule } = stored;
      if (rule.condition.kind !== 'dead-man') continue;
      const graceMs = rule.condition.graceMs;
      const to = now - graceMs;
      // One transaction per rule: the marks and the alerts of all its tasks commit together.
      missed += this.#store.transaction(() => {
        let found = 0;
        for (const taskId of taskIds) {
          const definitions = this.#definitionsOf(taskId);
          const current = definitions.at(-1)?.task;
          if (current === undefined || !ruleCovers(rule.scope, taskId, current.labels)) continue;
          const from =
            this.#store.deadManMark(rule.id, taskId) ?? Math.max(stored.createdAt, definitions[0]?.at ?? now);
          if (to <= from) continue;
          const window = missedInstants({
            definitions,
            from,
            to,
            transitionMs: this.#options.transitionMs,
            maxInstants: this.#options.maxInstantsPerCheck ?? 10_000,
            succeeded: (nominal) => this.#store.succeeded(taskId, nominal),
          });
          this.#store.saveDeadManMark(rule.id, taskId, to);
          if ('tooMany' in window) {
            this.#options.onSkippedWindow?.(rule.id, taskId, window.tooMany);
            continue;
          }
          for (const nominal of window.missed) {
            const instant = formatInstant(nominal);
            this.#occur(
              rule,
              {
                taskId,
                condition: 'dead-man',
                summary: `${taskId} at ${instant} has not succeeded within ${graceMs} ms`,
                causeId: `dead-man|${nominal}`,
                executionId: undefined,
                nominal: instant,
              },
              { at: now, decidedAt: now },
            );
          }
          found += window.missed.length;
        }
        return found;
      });
    }
    return missed;
  }

  #definitionsOf(taskId: string): LedgerDefinition[] {
    let definitions = this.#definitions.get(taskId);
    if (definitions === undefined)
      this.#definitions.set(taskId, (definitions = this.#store.definitionsOf(taskId)));
    return definitions;
  }

  #saveDefinition(taskId: string, at: number, eventId: string, task: SchedulerTask | undefined): void {
    // Loaded before the write: a first load after it would already hold this definition.
    const definitions = this.#definitionsOf(taskId);
    this.#store.saveDefinition(taskId, at, eventId, task);
    definitions.push({ at, task });
    // Kept in order of `at`, as the store reads them (events of one task arrive in order; a republished one may not).
    definitions.sort((a, b) => a.at - b.at);
  }

  /** Drops what is cached from the database: after a failed transaction it may hold rolled-back rows. */
  forgetCaches(): void {
    this.#definitions.clear();
    this.#streaks.clear();
    this.#rules = undefined;
    this.#enabledKinds = undefined;
    this.#rulesById = undefined;
    this.#rulesByEventType.clear();
  }

  #occur(rule: AlertRule, occurrence: Occurrence, when: When): void {
    const { at } = when;
    // What decides between counting and re-notifying, not the whole row: a failing task's later
    // failures mostly count on its open alert (in bench/alerts, 18 of 19 occurrences).
    const open = this.#store.openAlertCounters(rule.id, occurrence.taskId);
    if (open === undefined) {
      const nominal = occurrence.nominal === undefined ? null : Date.parse(occurrence.nominal);
      const row: AlertRow = {
        id: uuidV5(`alert|${rule.id}|${occurrence.taskId}|${occurrence.causeId}`),
        ruleId: rule.id,
        ruleRevision: rule.revision,
        taskId: occurrence.taskId,
        condition: occurrence.condition,
        state: 'open',
        summary: occurrence.summary,
        executionId: occurrence.executionId ?? null,
        nominalTime: nominal,
        openedAt: at,
        resolvedAt: null,
        resolveReason: null,
        occurrences: 1,
        notifications: 1,
        lastNotifiedAt: at,
        acknowledgedAt: null,
        acknowledgedBy: null,
        acknowledgeNote: null,
        silencedUntil: null,
        silencedBy: null,
        silenceNote: null,
        updatedAt: at,
      };
      this.#store.insertAlert(row);
      this.#emit(row, rule, 'nono.alert.opened.v1', 'opened', when, { openedAt: formatInstant(at) });
      return;
    }
    const occurrences = open.occurrences + 1;
    const renotify =
      rule.renotifyEveryMs > 0 &&
      open.acknowledgedAt === null &&
      !isSilenced(open, at) &&
      at - open.lastNotifiedAt >= rule.renotifyEveryMs;
    if (!renotify) {
      this.#store.countOccurrence(open, occurrences, at);
      return;
    }
    const alert = this.#store.findAlert(open.id);
    if (alert === undefined) throw new Error(`open alert ${open.id} vanished within its transaction`);
    const notification = open.notifications + 1;
    const change = {
      occurrences,
      notifications: notification,
      lastNotifiedAt: at,
      summary: occurrence.summary,
      executionId: occurrence.executionId ?? alert.executionId,
      updatedAt: at,
    };
    this.#store.updateAlert(open.id, change);
    this.#emit(
      { ...alert, ...change },
      rule,
      'nono.alert.renotified.v1',
      `renotified-${notification}`,
      when,
      {
        occurrences,
        notification,
      },
    );
  }

  #resolve(
    alert: AlertRow,
    rule: AlertRule | undefined,
    reason: EventData<'nono.alert.resolved.v1'>['reason'],
    when: When,
  ): void {
    const { at } = when;
    const change = { state: 'resolved' as const, resolvedAt: at, resolveReason: reason, updatedAt: at };
    this.#store.updateAlert(alert.id, change);
    this.#emit({ ...alert, ...change }, rule, 'nono.alert.resolved.v1', 'resolved', when, { reason });
  }

  /**
   * Writes a transition's event to the event outbox and, for the notified ones, one
   * notification per channel of the rule, unless the alert is silenced at `at`.
   */
  #emit<T extends AlertTransitionType>(
    alert: AlertRow,
    rule: AlertRule | undefined,
    type: T,
    transition: string,
    when: When,
    extra: Omit<EventData<T>, keyof AlertRef>,
  ): void {
    const { at, decidedAt } = when;
    const ref: AlertRef = {
      alertId: alert.id,
      ruleId: alert.ruleId,
      ruleRevision: alert.ruleRevision,
      taskId: alert.taskId,
      condition: alert.condition,
      summary: alert.summary.slice(0, 2000),
      ...(alert.executionId === null ? {} : { executionId: alert.executionId }),
      ...(alert.nominalTime === null ? {} : { nominalTime: formatInstant(alert.nominalTime) }),
    };
    const event = createEvent(type as EventType, { ...ref, ...extra } as EventData<EventType>, {
      id: uuidV5(`alert-event|${alert.id}|${transition}`),
      source: this.#options.source,
      subject: alert.id,
      time: at,
    });
    this.#store.enqueueEvent(event.id, JSON.stringify(event));
    const notified = notifiedTransition(type);
    if (notified === undefined || rule === undefined || isSilenced(alert, at)) return;
    const idempotencyKey = `${alert.ruleId}:${alert.taskId}:${alert.id}:${transition}`;
    const content: NotificationContent = {
      idempotencyKey,
      transition: notified,
      at: formatInstant(at),
      rule: { id: rule.id, name: rule.name },
      alert: alertView(alert),
    };
    for (const [channelIndex, channel] of rule.channels.entries()) {
      this.#store.enqueueNotification({
        idempotencyKey,
        channelIndex,
        channel: JSON.stringify(channel),
        alertId: alert.id,
        transition,
        content: JSON.stringify(content),
        state: 'pending',
        attempts: 0,
        nextAttemptAt: decidedAt,
        lastError: null,
        createdAt: decidedAt,
        sentAt: null,
      });
    }
  }

  /** A rule by id, from a map built once per rule set: every success looks up the rule of each open alert of its task. */
  #ruleOf(id: string): AlertRule | undefined {
    if (this.#rules === undefined || this.#rulesById === undefined) {
      this.#rules ??= this.#store.listRules();
      this.#rulesById = new Map(this.#rules.map((stored) => [stored.rule.id, stored.rule]));
    }
    return this.#rulesById.get(id);
  }

  /** A rule change's audit fact, to the event outbox in the change's own transaction: published if and only if it committed. */
  #audit(event: NonoEvent): void {
    this.#store.enqueueEvent(event.id, JSON.stringify(event));
  }

  // --- operators ---

  acknowledge(alertId: string, actor: Actor, note: string, now: number): AlertView {
    return this.#operate(
      alertId,
      now,
      { acknowledgedAt: now, acknowledgedBy: actor.id, acknowledgeNote: note },
      'nono.alert.acknowledged.v1',
      { actor, note },
    );
  }

  silence(alertId: string, actor: Actor, until: number, note: string, now: number): AlertView {
    return this.#operate(
      alertId,
      now,
      { silencedUntil: until, silencedBy: actor.id, silenceNote: note },
      'nono.alert.silenced.v1',
      { actor, until: formatInstant(until), note },
    );
  }

  /** An operator's change to an open alert, with its event (operators' changes notify no channel). */
  #operate<T extends 'nono.alert.acknowledged.v1' | 'nono.alert.silenced.v1'>(
    alertId: string,
    now: number,
    change: Partial<AlertRow>,
    type: T,
    extra: Omit<EventData<T>, keyof AlertRef>,
  ): AlertView {
    return this.#store.transaction(() => {
      const alert = this.#openAlert(alertId);
      this.#store.updateAlert(alert.id, { ...change, updatedAt: now });
      const row = { ...alert, ...change, updatedAt: now };
      const transition = `${type === 'nono.alert.acknowledged.v1' ? 'acknowledged' : 'silenced'}-${now}`;
      this.#emit(row, this.#ruleOf(alert.ruleId), type, transition, { at: now, decidedAt: now }, extra);
      return alertView(row);
    });
  }

  #openAlert(alertId: string): AlertRow {
    const alert = this.#store.findAlert(alertId);
    if (alert === undefined) throw new AlertsError(AlertsErrorCode.AlertNotFound, `no alert ${alertId}`);
    if (alert.state !== 'open')
      throw new AlertsError(AlertsErrorCode.AlertNotOpen, `alert ${alertId} is ${alert.state}, not open`);
    return alert;
  }

  // --- rules ---

  /**
   * Creates or replaces a rule. `expectedRevision`: the revision the writer read (If-Match),
   * `null` to create only (If-None-Match: *), undefined for either. A rule whose scope,
   * condition or enabled flag changes resolves its open alerts (reason `rule-changed`): they
   * were opened under a rule that no longer says the same.
   */
  putRule(
    id: string,
    spec: AlertRuleSpec,
    expectedRevision: number | null | undefined,
    now: number,
    actor: Actor = SYSTEM_ACTOR,
  ): AlertRule {
    if (!isValidAlertRuleId(id))
      throw new AlertsError(AlertsErrorCode.InvalidRule, 'the rule id is not valid', [
        {
          field: 'id',
          message:
            'must be 1-128 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit',
        },
      ]);
    try {
      return this.#store.transaction(() => {
        const current = this.#store.findRule(id);
        if (expectedRevision === null && current !== undefined)
          throw new AlertsError(
            AlertsErrorCode.RuleExists,
            `rule ${id} already exists (revision ${current.rule.revision})`,
          );
        if (typeof expectedRevision === 'number' && current?.rule.revision !== expectedRevision)
          throw new AlertsError(
            AlertsErrorCode.PreconditionFailed,
            current === undefined
              ? `rule ${id} does not exist`
              : `rule ${id} is at revision ${current.rule.revision}, not ${expectedRevision}`,
          );
        const at = formatInstant(now);
        const rule: AlertRule = {
          id,
          createdAt: current?.rule.createdAt ?? at,
          updatedAt: at,
          revision: (current?.rule.revision ?? 0) + 1,
          ...spec,
        };
        this.#store.saveRule(rule, current?.createdAt ?? now);
        this.#audit(
          current === undefined
            ? ruleChangeEvent(
                'nono.alert-rule.defined.v1',
                { ruleId: id, actor, revision: rule.revision, after: rule },
                now,
                this.#options.source,
              )
            : ruleChangeEvent(
                'nono.alert-rule.updated.v1',
                { ruleId: id, actor, revision: rule.revision, before: current.rule, after: rule },
                now,
                this.#options.source,
              ),
        );
        if (current !== undefined && changesMeaning(current.rule, rule))
          for (const alert of this.#store.openAlertsOf({ ruleId: id }))
            this.#resolve(alert, rule, 'rule-changed', { at: now, decidedAt: now });
        return rule;
      });
    } finally {
      this.#rules = undefined;
      this.#enabledKinds = undefined;
      this.#rulesById = undefined;
      this.#rulesByEventType.clear();
    }
  }

  deleteRule(
    id: string,
    expectedRevision: number | undefined,
    now: number,
    actor: Actor = SYSTEM_ACTOR,
  ): void {
    try {
      this.#store.transaction(() => {
        const current = this.#store.findRule(id);
        if (current === undefined) throw new AlertsError(AlertsErrorCode.RuleNotFound, `no rule ${id}`);
        if (expectedRevision !== undefined && current.rule.revision !== expectedRevision)
          throw new AlertsError(
            AlertsErrorCode.PreconditionFailed,
            `rule ${id} is at revision ${current.rule.revision}, not ${expectedRevision}`,
          );
        for (const alert of this.#store.openAlertsOf({ ruleId: id }))
          this.#resolve(alert, current.rule, 'rule-deleted', { at: now, decidedAt: now });
        this.#store.deleteRule(id);
        this.#audit(
          ruleChangeEvent(
            'nono.alert-rule.deleted.v1',
            { ruleId: id, actor, revision: current.rule.revision, before: current.rule },
            now,
            this.#options.source,
          ),
        );
      });
    } finally {
      this.#rules = undefined;
      this.#enabledKinds = undefined;
      this.#rulesById = undefined;
      this.#rulesByEventType.clear();
    }
  }
}

const NO_SCHEDULER_SINCE = 'no-scheduler-since';
/**
 * What a cluster alert is about, in the place of a task id. Each has a colon, which no task
 * id may have, so deleting a task never resolves one and no task's page lists one.
 */
const NO_SCHEDULER_SUBJECT = 'cluster:schedulers';
const schedulerSubject = (schedulerId: string): string => `scheduler:${schedulerId}`;
const lagSubject = (consumer: 'alerts' | 'history'): string => `cluster:${consumer}-consumer`;

const SYSTEM_ACTOR: Actor = { id: 'alerts', kind: 'system' };

type RuleChangeType =
  'nono.alert-rule.defined.v1' | 'nono.alert-rule.updated.v1' | 'nono.alert-rule.deleted.v1';

/**
 * The audit fact of a rule change. Its id is derived from the rule's incarnation (its
 * creation instant) and the revision, as the API derives a task change's: the change it
 * describes happened once, so a republished copy is the same event.
 */
function ruleChangeEvent<T extends RuleChangeType>(
  type: T,
  data: EventData<T>,
  now: number,
  source: string,
): NonoEvent {
  const rule = 'after' in data ? data.after : data.before;
  return createEvent(type, data, {
    id: uuidV5(`audit|${type}|${rule.id}|${rule.createdAt}|${data.revision}`),
    source,
    subject: rule.id,
    time: now,
  });
}

/** When a transition happened (the fact's time) and when this service decided it (the clock). */
interface When {
  readonly at: number;
  readonly decidedAt: number;
}

type AlertRef = Pick<
  EventData<'nono.alert.opened.v1'>,
  'alertId' | 'ruleId' | 'ruleRevision' | 'taskId' | 'condition' | 'summary' | 'executionId' | 'nominalTime'
>;

function notifiedTransition(type: AlertTransitionType): NotifiedTransition | undefined {
  switch (type) {
    case 'nono.alert.opened.v1':
      return 'opened';
    case 'nono.alert.renotified.v1':
      return 'renotified';
    case 'nono.alert.resolved.v1':
      return 'resolved';
    default:
      return undefined;
  }
}

function isSilenced(alert: Pick<AlertRow, 'silencedUntil'>, at: number): boolean {
  return alert.silencedUntil !== null && alert.silencedUntil > at;
}

function changesMeaning(before: AlertRule, after: AlertRule): boolean {
  return (
    before.enabled !== after.enabled ||
    JSON.stringify(before.scope) !== JSON.stringify(after.scope) ||
    JSON.stringify(before.condition) !== JSON.stringify(after.condition)
  );
}
