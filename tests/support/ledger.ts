import { type NonoEvent } from '@nono/domain';
// The history service's test helper, as bench/history uses it: each projected table's rows and digest.
import { type TableDigest, fileTableDigests } from '../../services/history/src/testing/table-dump.js';
import { collectEvents } from './cluster.js';
import { type Isolation, eventually } from './isolation.js';

/**
 * History's ledger of many tasks over one window (GET /tasks/:id/ledger): how the
 * exactly-once tests check that every due instant was accounted for and none fired twice.
 */
export interface LedgerReply {
  readonly summary: Record<string, number>;
  readonly entries: ReadonlyArray<{
    readonly nominalTime: string;
    readonly outcome: unknown;
    /** Skip reason, misfire action or lost scheduler of the deciding fact. */
    readonly reason?: string;
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

/**
 * How many instants ended otherwise than `succeeded`, by outcome and reason
 * (`lost:scheduler-3`, `timed-out`…): the "recorded with a reason" part of the fault reports.
 */
export function otherOutcomes(ledgers: readonly TaskLedger[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const ledger of ledgers)
    for (const entry of ledger.entries) {
      if (entry.outcome === 'succeeded') continue;
      const key = `${String(entry.outcome)}${entry.reason === undefined ? '' : `:${entry.reason}`}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  return counts;
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

/** A history service the exactly-once checks read: its query routes and its database file. */
export interface HistoryReplica extends LedgerSource {
  readonly dbFile: string;
}

/**
 * Waits until every replica reports no lag and their projected tables are equal row for row;
 * resolves the digests. Throws naming the tables that still differ after `timeoutMs`.
 */
export async function tablesEqualOnceCaughtUp(
  replicas: readonly HistoryReplica[],
  timeoutMs = 90_000,
): Promise<Record<string, TableDigest>> {
  const caughtUp = async (history: HistoryReplica): Promise<boolean> => {
    const body = (await (await fetch(`${history.url}/readyz`)).json()) as {
      lag?: number;
      lagKnown?: boolean;
    };
    return body.lagKnown === true && body.lag === 0;
  };
  let last: Array<Record<string, TableDigest>> = [];
  try {
    return await eventually(
      async () => {
        for (const replica of replicas) if (!(await caughtUp(replica))) return undefined;
        last = replicas.map((replica) => fileTableDigests(replica.dbFile));
        const [first, ...others] = last.map((digests) => JSON.stringify(digests));
        return others.every((other) => other === first) ? last[0] : undefined;
      },
      timeoutMs,
      `${replicas.length} history replicas caught up with equal tables`,
    );
  } catch (error) {
    // The row counts and digests of each, table by table, say which table differs.
    throw new Error(`${(error as Error).message}; last digests: ${JSON.stringify(last)}`);
  }
}

/** What the executions topic holds of the window's `fired` facts. */
export interface KafkaFiredFacts {
  /** `fired` messages of the tasks at instants in the window. */
  readonly messages: number;
  /** Occurrences (`taskId|nominal`) with a `fired` fact. */
  readonly occurrences: number;
  /**
   * Occurrences fired by two owners: one event id (derived from the occurrence and attempt)
   * published with two different schedulers or fencing tokens.
   */
  readonly doubledFires: readonly string[];
  /** One fact sent again (same id, same owner): what a resend after an unknown outcome leaves; consumers drop it. */
  readonly repeatedMessages: number;
  /** Occurrences the worker was called for that have no `fired` fact on the topic. */
  readonly callsWithoutFact: readonly string[];
  /** `fired` facts per scheduler id. */
  readonly bySchedulers: Readonly<Record<string, number>>;
  /** The facts themselves (time-ordered per partition), for a test's own questions. */
  readonly facts: readonly NonoEvent[];
}

/**
 * Reads the executions topic from the beginning until it holds a `fired` fact for at least
 * `atLeast` of the window's occurrences (history already counted them, so Kafka has them) and
 * then 2 s more (a doubled fact would arrive after the last one).
 */
export async function kafkaFiredFacts(
  iso: Isolation,
  taskIds: ReadonlySet<string>,
  window: LedgerWindow,
  calls: ReadonlyArray<{ readonly taskId: string; readonly nominal: string }>,
  atLeast: number,
): Promise<KafkaFiredFacts> {
  const log = await collectEvents(iso, iso.topics.executions);
  const inWindow = (): NonoEvent[] =>
    log.events.filter((event) => {
      if (event.type !== 'nono.execution.fired.v1') return false;
      const data = event.data as { taskId: string; nominalTime: string };
      const nominal = Date.parse(data.nominalTime);
      return taskIds.has(data.taskId) && nominal >= window.start && nominal < window.end;
    });
  const occurrenceOf = (event: NonoEvent): string => {
    const data = event.data as { taskId: string; nominalTime: string };
    return `${data.taskId}|${new Date(Date.parse(data.nominalTime)).toISOString()}`;
  };
  try {
    await eventually(
      () => (new Set(inWindow().map(occurrenceOf)).size >= atLeast ? true : undefined),
      120_000,
      `${atLeast} fired occurrences on the executions topic`,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  } finally {
    await log.stop();
  }
  const facts = inWindow();
  const owners = new Map<string, Set<string>>();
  const perId = new Map<string, number>();
  const bySchedulers: Record<string, number> = {};
  for (const event of facts) {
    const data = event.data as { schedulerId: string; fencingToken: number };
    const key = `${occurrenceOf(event)}|${event.id}`;
    owners.set(key, (owners.get(key) ?? new Set()).add(`${data.schedulerId}/${data.fencingToken}`));
    perId.set(event.id, (perId.get(event.id) ?? 0) + 1);
    bySchedulers[data.schedulerId] = (bySchedulers[data.schedulerId] ?? 0) + 1;
  }
  const occurrences = new Set(facts.map(occurrenceOf));
  const doubledFires = [...owners].filter(([, set]) => set.size > 1).map(([key]) => key);
  const repeatedMessages = [...perId.values()].reduce((sum, n) => sum + (n - 1), 0) - doubledFires.length;
  const callsWithoutFact = [
    ...new Set(
      calls
        .filter((call) => {
          const nominal = Date.parse(call.nominal);
          return taskIds.has(call.taskId) && nominal >= window.start && nominal < window.end;
        })
        .map((call) => `${call.taskId}|${new Date(Date.parse(call.nominal)).toISOString()}`),
    ),
  ].filter((occurrence) => !occurrences.has(occurrence));
  return {
    messages: facts.length,
    occurrences: occurrences.size,
    doubledFires,
    repeatedMessages,
    callsWithoutFact,
    bySchedulers,
    facts,
  };
}
