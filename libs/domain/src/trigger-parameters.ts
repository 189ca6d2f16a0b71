import { type Static, Type } from '@sinclair/typebox';
import { type Result, fail, ok } from './errors.js';
import type { SchedulerTask } from './task.js';

/** The most a manual trigger's parameters may weigh, as JSON. */
export const MAX_TRIGGER_PARAMETERS_BYTES = 8_192;

/** A JSON object a manual trigger carries to the worker (recorded in the audit and on the execution). */
export const TriggerParametersSchema = Type.Record(Type.String(), Type.Unknown(), {
  description: `a JSON object of at most ${MAX_TRIGGER_PARAMETERS_BYTES} bytes merged into the request body of this one run`,
});
export type TriggerParameters = Static<typeof TriggerParametersSchema>;

/**
 * A task's fixed `target.body` with trigger parameters merged in, key by key over its own; undefined
 * when that body is not a JSON object. (The default body, built by the scheduler, carries them
 * under `parameters` beside the execution's own fields, which they cannot replace.)
 */
export function fixedBodyWithParameters(
  fixedBody: string,
  parameters: TriggerParameters,
): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fixedBody);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  return JSON.stringify({ ...parsed, ...parameters });
}

/** Whether `task` can take `parameters` on a manual run, with the reason when not (field `parameters`). */
export function checkTriggerParameters(
  task: SchedulerTask,
  parameters: TriggerParameters,
): Result<TriggerParameters> {
  const issue = (message: string) => fail([{ field: 'parameters', message }]);
  const bytes = new TextEncoder().encode(JSON.stringify(parameters)).length;
  if (bytes > MAX_TRIGGER_PARAMETERS_BYTES)
    return issue(`is ${bytes} bytes as JSON; at most ${MAX_TRIGGER_PARAMETERS_BYTES} are allowed`);
  if (task.target.method === 'GET') return issue('the task calls its target with GET, which sends no body');
  if (task.target.body !== undefined && fixedBodyWithParameters(task.target.body, parameters) === undefined)
    return issue("the task's fixed target.body is not a JSON object, so parameters cannot be merged into it");
  return ok(parameters);
}
