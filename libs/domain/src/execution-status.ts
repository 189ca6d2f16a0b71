/**
 * What an execution can be, as history records it, in the order of its life: the one list of
 * them. The CLI, history and the web UI (served as /execution-statuses.js by the API) use it.
 */
export const EXECUTION_STATUSES = [
  'scheduled',
  'running',
  'succeeded',
  'failed',
  'timed-out',
  'skipped',
  'misfired',
  'lost',
  'retrying',
  'cancelled',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** The statuses that mean something went wrong (shown in red, counted as failures). */
export const FAILED_EXECUTION_STATUSES = [
  'failed',
  'timed-out',
  'lost',
  'misfired',
] as const satisfies readonly ExecutionStatus[];
