import { type SchedulerTask, createTask, parseTaskSpec } from '@nono/domain';

/** The local days of Europe/Paris's 2026 transitions: [name, day start, day end, the transition] (UTC). */
export const PARIS_TRANSITION_DAYS = [
  [
    '2026-03-29 (spring forward)',
    Date.parse('2026-03-28T23:00:00Z'),
    Date.parse('2026-03-29T22:00:00Z'),
    Date.parse('2026-03-29T01:00:00Z'),
  ],
  [
    '2026-10-25 (fall back)',
    Date.parse('2026-10-24T22:00:00Z'),
    Date.parse('2026-10-25T23:00:00Z'),
    Date.parse('2026-10-25T01:00:00Z'),
  ],
] as const;

/** A task with one cron in one zone calling a port nothing listens on (the benches never call it). */
export function cronTask(id: string, expression: string, timeZone: string, now: number): SchedulerTask {
  const spec = parseTaskSpec(
    { name: id, schedule: { kind: 'cron', expression, timeZone }, target: { url: 'http://127.0.0.1:1/' } },
    now,
  );
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  return createTask(id, spec.value, now);
}
