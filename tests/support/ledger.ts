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

export function readLedgers(
  history: LedgerSource,
  taskIds: readonly string[],
  windowStart: number,
  windowEnd: number,
): Promise<TaskLedger[]> {
  const window = `from=${new Date(windowStart).toISOString()}&to=${new Date(windowEnd).toISOString()}`;
  return Promise.all(
    taskIds.map(async (taskId) => {
      const response = await fetch(`${history.url}/tasks/${taskId}/ledger?${window}`, {
        headers: history.readHeaders,
      });
      return { taskId, ...((await response.json()) as LedgerReply) };
    }),
  );
}

/**
 * Reads the ledgers until `settled` holds for all of them or `deadline` passes (history projects
 * a moment behind Kafka, and a recovering scheduler's facts arrive late); the last reading.
 */
export async function settledLedgers(
  read: () => Promise<TaskLedger[]>,
  settled: (ledger: TaskLedger) => boolean,
  deadline: number,
): Promise<TaskLedger[]> {
  let ledgers = await read();
  while (!ledgers.every(settled) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    ledgers = await read();
  }
  return ledgers;
}

/** The ledgers' summary counts added up over every task. */
export function ledgerTotals(
  ledgers: readonly TaskLedger[],
  keys: readonly string[],
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
