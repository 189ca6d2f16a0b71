import { type CancelCall, type ManualClock } from '@nono/domain';
import {
  type FenceWrite,
  type FencePort,
  type FireState,
  type StoredFireState,
  type VersionedFireState,
} from '../fence/fire-fence.js';
import { type OpenExecutionsRecord, type OpenExecutionsStore } from '../lost/open-executions.js';
import {
  type CancelNotice,
  type InvocationOutcome,
  type InvocationRequest,
  type Invoker,
} from '../runner/invoker.js';
import { type TriggerRead, type TriggerStore } from '../triggers/trigger-inbox.js';

/*
 * The engine's ports in memory, for its unit tests (engine/engine.test.ts) and for benchmarks
 * that drive it with a manual clock (bench/cron/engine-transition-day.ts). What the real ports
 * prove against ZooKeeper and HTTP is in tests/scheduler.
 */

export class MemoryFence implements FencePort {
  readonly #states = new Map<string, VersionedFireState>();
  /** Every state written after the first (the claims and housekeeping writes), in order. */
  readonly claims: FireState[] = [];
  readonly #keepClaims: boolean;
  #zxid = 100;

  /**
   * `keepClaims: false` for benchmarks: millions of retained states would make the garbage
   * collector's work, not the engine's, the thing measured.
   */
  constructor(options: { keepClaims?: boolean } = {}) {
    this.#keepClaims = options.keepClaims ?? true;
  }

  read(taskId: string): Promise<StoredFireState | undefined> {
    return Promise.resolve(this.#states.get(taskId));
  }

  create(taskId: string, state: FireState): Promise<boolean> {
    if (this.#states.has(taskId)) return Promise.resolve(false);
    this.#states.set(taskId, { state, version: 0 });
    return Promise.resolve(true);
  }

  write(taskId: string, expectedVersion: number, next: FireState): Promise<FenceWrite> {
    const current = this.#states.get(taskId);
    if (current === undefined) return Promise.resolve({ ok: false, reason: 'absent' });
    if (current.version !== expectedVersion) return Promise.resolve({ ok: false, reason: 'conflict' });
    this.#states.set(taskId, { state: next, version: expectedVersion + 1 });
    if (this.#keepClaims) this.claims.push(next);
    return Promise.resolve({ ok: true, version: expectedVersion + 1, fencingToken: ++this.#zxid });
  }

  /** The stored state (the test's view; the engine reads through `read`). */
  state(taskId: string): VersionedFireState {
    const current = this.#states.get(taskId);
    if (current === undefined) throw new Error(`no fire state for ${taskId}`);
    return current;
  }

  delete(taskId: string): void {
    this.#states.delete(taskId);
  }
}

/** Trigger requests in memory, as the API would write them. */
export class MemoryTriggers implements TriggerStore {
  readonly requests = new Map<string, { requestId: string; actor: string; requestedAt: string }>();
  read(name: string): Promise<TriggerRead> {
    const request = this.requests.get(name);
    return Promise.resolve(request === undefined ? { kind: 'absent' } : { kind: 'request', request });
  }
  delete(name: string): Promise<void> {
    this.requests.delete(name);
    return Promise.resolve();
  }
}

export class MemoryRecords implements OpenExecutionsStore {
  readonly records = new Map<string, OpenExecutionsRecord>();
  write(schedulerId: string, record: OpenExecutionsRecord): Promise<void> {
    this.records.set(schedulerId, { ...record, open: record.open.map(([from, to]) => [from, to] as const) });
    return Promise.resolve();
  }
  read(schedulerId: string): Promise<OpenExecutionsRecord | undefined> {
    return Promise.resolve(this.records.get(schedulerId));
  }
}

/** A worker that answers 200 after `callMs` of the manual clock. */
export class RecordingInvoker implements Invoker {
  readonly calls: Array<{ nominal: number; at: number }> = [];
  /** Every request as the runner made it (execution id, URL, shard). */
  readonly requests: InvocationRequest[] = [];
  callMs = 0;
  constructor(private readonly clock: ManualClock) {}
  invoke(request: InvocationRequest): Promise<InvocationOutcome> {
    this.calls.push({ nominal: request.nominal, at: this.clock.now() });
    this.requests.push(request);
    const outcome: InvocationOutcome = { kind: 'succeeded', httpStatus: 200, durationMs: this.callMs };
    if (this.callMs === 0) return Promise.resolve(outcome);
    return new Promise((resolve) => this.clock.setTimer(() => resolve(outcome), this.callMs));
  }
  readonly cancelNotices: CancelNotice[] = [];
  notifyCancel(notice: CancelNotice): Promise<CancelCall> {
    this.cancelNotices.push(notice);
    return Promise.resolve({ url: notice.cancelUrl, httpStatus: 200, durationMs: 0 });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
