import { type AlertRule } from '@nono/domain';

/** A rule with its creation instant, as the store keeps it. */
export interface IndexedRule {
  readonly rule: AlertRule;
  readonly createdAt: number;
}

/**
 * Rules by what their scope takes in: every task, one task, or one label (`key:value`).
 * `covering` answers the rules whose scope takes in a task, in the order they were given,
 * without looking at the others: with 1,000 rules mostly scoped to a task or a label, an
 * event's task is covered by a handful, and a fact was matched against every one before.
 */
export class RuleIndex<R extends IndexedRule> {
  readonly #everyTask: R[] = [];
  readonly #byTask = new Map<string, R[]>();
  readonly #byLabel = new Map<string, R[]>();
  readonly #position = new Map<R, number>();

  constructor(rules: readonly R[]) {
    for (const [position, stored] of rules.entries()) {
      this.#position.set(stored, position);
      const { scope } = stored.rule;
      if (scope.kind === 'all') this.#everyTask.push(stored);
      else if (scope.kind === 'task') push(this.#byTask, scope.taskId, stored);
      // A selector is `key:value`; a task's label keys have no colon (LabelKey), so one key and value, as ruleCovers reads it.
      else push(this.#byLabel, scope.selector, stored);
    }
  }

  get size(): number {
    return this.#position.size;
  }

  /** The rules whose scope takes in the task with this id and these current labels, in the given order. */
  covering(taskId: string, labels: Readonly<Record<string, string>> | undefined): readonly R[] {
    const found: R[][] = [];
    if (this.#everyTask.length > 0) found.push(this.#everyTask);
    const forTask = this.#byTask.get(taskId);
    if (forTask !== undefined) found.push(forTask);
    if (labels !== undefined && this.#byLabel.size > 0)
      for (const [key, value] of Object.entries(labels)) {
        const forLabel = this.#byLabel.get(`${key}:${value}`);
        if (forLabel !== undefined) found.push(forLabel);
      }
    if (found.length === 0) return [];
    if (found.length === 1) return found[0] ?? [];
    return found.flat().sort((a, b) => (this.#position.get(a) ?? 0) - (this.#position.get(b) ?? 0));
  }
}

function push<R>(map: Map<string, R[]>, key: string, value: R): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
