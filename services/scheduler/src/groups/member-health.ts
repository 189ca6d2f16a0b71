import { type ActiveHealth, type PassiveHealth } from '@nono/domain';

/** Which check took a member out: this scheduler's own calls, or its probes. */
export type EjectionCause = 'passive' | 'probe';

/** A member this scheduler has taken out, and until when. */
export interface Ejection {
  readonly group: string;
  readonly url: string;
  readonly cause: EjectionCause;
  /**
   * Passive: no calls before it. Probe: when the next probe's verdict is due (a member taken
   * out by probes stays out until probes pass, and this moves on with each failed probe).
   */
  readonly until: number;
  readonly failures: number;
  readonly lastError: string;
}

interface MemberState {
  readonly group: string;
  readonly url: string;
  /** Passive: calls failed in a row, the latest error, and out until then (undefined: in). */
  failures: number;
  lastError: string;
  until: number | undefined;
  /** Active: probes failed and passed in a row, and whether probes took it out. */
  probeFailures: number;
  probePasses: number;
  probeError: string;
  probeOut: boolean;
  /** When the verdict of the probe after the latest is due (for readers of the ejection). */
  probeDueAt: number;
}

/**
 * A member's health as this scheduler sees it, from two checks.
 *
 * Passive: what this scheduler's own calls say. A member whose calls fail
 * `consecutiveFailures` times in a row (no answer, timed out, 5xx) is taken out for
 * `backoffMs`; then it gets calls again, and the first failure takes it out again at once
 * (its run of failures did not end). A success ends the run.
 *
 * Active (when the group asks for probes): `unhealthyAfter` failed probes in a row take the
 * member out until `healthyAfter` probes in a row pass. A member is out when either check says
 * so. State is per scheduler and in memory: a new process starts with every member in.
 */
export class MemberHealth {
  readonly #members = new Map<string, MemberState>();
  readonly #onChange: () => void;

  /** `onChange`: the set of members taken out changed (for publishing it). */
  constructor(onChange: () => void = () => undefined) {
    this.#onChange = onChange;
  }

  isOut(group: string, url: string, now: number): boolean {
    const state = this.#members.get(keyOf(group, url));
    if (state === undefined) return false;
    return state.probeOut || (state.until !== undefined && state.until > now);
  }

  succeeded(group: string, url: string): void {
    const state = this.#members.get(keyOf(group, url));
    if (state === undefined) return;
    const wasOut = state.until !== undefined;
    state.failures = 0;
    state.until = undefined;
    this.#dropIfClear(state);
    if (wasOut) this.#onChange();
  }

  failed(group: string, url: string, error: string, policy: PassiveHealth, now: number): void {
    const state = this.#stateOf(group, url);
    state.failures += 1;
    state.lastError = error;
    const out = state.until !== undefined && state.until > now;
    if (!out && state.failures >= policy.consecutiveFailures) {
      state.until = now + policy.backoffMs;
      this.#onChange();
    }
  }

  /** A probe's verdict: `error` undefined when it passed. */
  probed(group: string, url: string, error: string | undefined, policy: ActiveHealth, now: number): void {
    const state = this.#stateOf(group, url);
    // Two intervals of slack: a busy process probes late, and a reader must not see the
    // ejection end (and the member shown back in) while probes still keep it out.
    state.probeDueAt = now + 3 * policy.intervalMs + policy.timeoutMs;
    if (error === undefined) {
      state.probeFailures = 0;
      state.probePasses += 1;
      if (state.probeOut && state.probePasses >= policy.healthyAfter) {
        state.probeOut = false;
        this.#onChange();
      }
      this.#dropIfClear(state);
      return;
    }
    state.probePasses = 0;
    state.probeFailures += 1;
    state.probeError = error;
    if (!state.probeOut && state.probeFailures >= policy.unhealthyAfter) state.probeOut = true;
    // Out or still out: its due time moved on, which readers of the ejection see.
    if (state.probeOut) this.#onChange();
  }

  /** Forgets the probe verdicts of members no longer probed (left the group, or probes turned off). */
  keepProbed(probed: ReadonlySet<string>): void {
    for (const [key, state] of this.#members) {
      if (probed.has(key) || (state.probeFailures === 0 && !state.probeOut)) continue;
      const wasOut = state.probeOut;
      state.probeFailures = 0;
      state.probePasses = 0;
      state.probeOut = false;
      this.#dropIfClear(state);
      if (wasOut) this.#onChange();
    }
  }

  /** The members taken out at `now`, one entry per check that took each out. */
  ejections(now: number): Ejection[] {
    const out: Ejection[] = [];
    for (const state of this.#members.values()) {
      if (state.until !== undefined && state.until > now)
        out.push({
          group: state.group,
          url: state.url,
          cause: 'passive',
          until: state.until,
          failures: state.failures,
          lastError: state.lastError,
        });
      if (state.probeOut)
        out.push({
          group: state.group,
          url: state.url,
          cause: 'probe',
          until: Math.max(state.probeDueAt, now + 1),
          failures: state.probeFailures,
          lastError: state.probeError,
        });
    }
    return out;
  }

  #stateOf(group: string, url: string): MemberState {
    const key = keyOf(group, url);
    let state = this.#members.get(key);
    if (state === undefined) {
      state = {
        group,
        url,
        failures: 0,
        lastError: '',
        until: undefined,
        probeFailures: 0,
        probePasses: 0,
        probeError: '',
        probeOut: false,
        probeDueAt: 0,
      };
      this.#members.set(key, state);
    }
    return state;
  }

  /** Nothing to remember of a member whose checks are all clear. */
  #dropIfClear(state: MemberState): void {
    if (state.failures === 0 && state.until === undefined && state.probeFailures === 0 && !state.probeOut)
      this.#members.delete(keyOf(state.group, state.url));
  }
}

/** The key of a member in a group, as `keepProbed` takes them. */
export function keyOf(group: string, url: string): string {
  return `${group}|${url}`;
}
