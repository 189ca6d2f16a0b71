/**
 * The workload of the alerts benchmarks, in one place for both (evaluate-in-process.ts and
 * end-to-end.ts): 10,000 tasks in 40 teams, 1,000 rules (400 label-scoped over the teams, 590
 * task-scoped, 10 on every task; conditions failed, timed-out, lost, skipped-on-overlap and
 * 3-in-a-row in turn), and execution facts, 80 % succeeded, 15 % failed or timed out, 5 % lost.
 * Fact i is task i % TASKS at the instant ⌊i / TASKS⌋ after the first; its outcome is drawn
 * from i, and since TASKS is a multiple of 100 a task has the same outcome in every round.
 */
import { type NonoEvent } from '@nono/domain';
import { type Outcome, defineTask, executionFact } from '../../services/alerts/src/testing/facts.js';

export const TASKS = 10_000;
export const RULES = 1_000;
export const taskIds = Array.from({ length: TASKS }, (_, i) => `task-${String(i).padStart(5, '0')}`);

const CONDITIONS = [
  { kind: 'failed' },
  { kind: 'timed-out' },
  { kind: 'lost' },
  { kind: 'skipped', reasons: ['overlap'] },
  { kind: 'consecutive-failures', count: 3 },
];

/** Rule i as a person would write it (its channels are the caller's). */
export function ruleInput(i: number, channels: readonly Record<string, unknown>[]): Record<string, unknown> {
  const scope =
    i < 400
      ? { kind: 'label', selector: `team:t${i % 40}` }
      : i < 990
        ? { kind: 'task', taskId: `task-${String((i * 17) % TASKS).padStart(5, '0')}` }
        : { kind: 'all' };
  return { name: 'bench', scope, condition: CONDITIONS[i % CONDITIONS.length], channels };
}

/** The definition of task i, in its team, at `at`. */
export function definitionOf(i: number, at: number): NonoEvent {
  return defineTask(taskIds[i] ?? '', at, { labels: { team: `t${i % 40}` } }).event;
}

const FAILURES: Outcome[] = ['failed', 'failed', 'failed', 'timed-out'];

/** Fact i, its instants counted from `t0`. */
export function factOf(i: number, t0: number): NonoEvent {
  const roll = (i * 2654435761) % 100;
  const outcome: Outcome = roll < 80 ? 'succeeded' : roll < 95 ? (FAILURES[roll % 4] ?? 'failed') : 'lost';
  const nominal = t0 + 10_000 * (1 + Math.floor(i / TASKS));
  return executionFact(taskIds[i % TASKS] ?? '', nominal, outcome, nominal + 50);
}
