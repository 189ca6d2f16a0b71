/**
 * History's ledger of many tasks over one window (GET /tasks/:id/ledger): how the
 * exactly-once tests check that every due instant was accounted for and none fired twice.
 */
export interface LedgerReply {
  readonly summary: Record<string, number>;
  readonly entries: ReadonlyArray<{
    readonly nominalTime: string;
    readonly outcome: unknown;
    readonly flags: readonly string[];
    readonly actions: ReadonlyArray<{
      kind: string;
      schedulerId: string;
      fencingToken: number;
      attempt: number;
    }>;
  }>;
}

export type TaskLedger = LedgerReply & { readonly taskId: string };

interface LedgerSource {
  readonly url: string;
  readonly readHeaders: Record<string, string>;
}

function readLedgers(
  history: LedgerSource,
  taskIds: readonly string[],
  window: LedgerWindow,
): Promise<TaskLedger[]> {
  const query = `from=${new Date(window.start).toISOString()}&to=${new Date(window.end).toISOString()}`;
  return Promise.all(
    taskIds.map(async (taskId) => {
      const response = await fetch(`${history.url}/tasks/${taskId}/ledger?${query}`, {
        headers: history.readHeaders,
      });
      return { taskId, ...((await response.json()) as LedgerReply) };
    }),
  );
}

/** Epoch milliseconds, `end` excluded. */
export interface LedgerWindow {
  readonly start: number;
  readonly end: number;
}

/**
 * The tasks' ledgers over the window, read again every second until `settled` holds for all of
 * them or `deadline` passes (history projects a moment behind Kafka, and a recovering
 * scheduler's facts arrive late): the last reading.
 */
export async function settledLedgers(
  history: LedgerSource,
  tasks: ReadonlyArray<{ readonly id: string }>,
  window: LedgerWindow,
  settled: (ledger: TaskLedger) => boolean,
  deadline: number,
): Promise<TaskLedger[]> {
  const taskIds = tasks.map((task) => task.id);
  let ledgers = await readLedgers(history, taskIds, window);
  while (!ledgers.every(settled) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    ledgers = await readLedgers(history, taskIds, window);
  }
  return ledgers;
}

/** The summary counts the chaos and fault tests report. */
const LEDGER_COUNTS = [
  'due',
  'fired',
  'succeeded',
  'misfired',
  'lost',
  'pending',
  'unaccounted',
  'doubled',
  'stale',
];

/** The ledgers' summary counts added up over every task. */
export function ledgerTotals(
  ledgers: readonly TaskLedger[],
  keys: readonly string[] = LEDGER_COUNTS,
): Record<string, number> {
  return Object.fromEntries(
    keys.map((key) => [key, ledgers.reduce((sum, ledger) => sum + (ledger.summary[key] ?? 0), 0)]),
  );
}

/** How many calls each occurrence (`taskId|nominal`) got at the worker. */
export function callsPerOccurrence(
  calls: ReadonlyArray<{ readonly taskId: string; readonly nominal: string }>,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const call of calls) {
    const key = `${call.taskId}|${call.nominal}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The occurrences the worker was called for more than once, with their counts. */
export function doubledOccurrences(
  calls: ReadonlyArray<{ readonly taskId: string; readonly nominal: string }>,
): Array<[string, number]> {
  return [...callsPerOccurrence(calls)].filter(([, n]) => n > 1);
}

/**
 * The calls of one attempt of an occurrence (`taskId|nominal|attempt`) the worker got more than
 * once. A backfill's calls continue the execution's attempt numbers, so a backfill of an instant
 * called before is a later attempt, not a double; two calls of one attempt are.
 */
export function doubledAttempts(
  calls: ReadonlyArray<{ readonly taskId: string; readonly nominal: string; readonly attempt: number }>,
): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const call of calls) {
    const key = `${call.taskId}|${call.nominal}|${call.attempt}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].filter(([, n]) => n > 1);
}
