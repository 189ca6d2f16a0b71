import { type PassiveHealth } from '@nono/domain';

/** A member this scheduler has taken out, and until when. */
export interface Ejection {
  readonly group: string;
  readonly url: string;
  readonly until: number;
  readonly failures: number;
  readonly lastError: string;
}

interface MemberState {
  failures: number;
  lastError: string;
  /** Taken out until then (epoch ms); undefined: in. */
  until: number | undefined;
}

/**
 * Passive health: what this scheduler's own calls say of each group member. A member whose
 * calls fail `consecutiveFailures` times in a row (no answer, timed out, 5xx) is taken out for
 * `backoffMs`; then it gets calls again, and the first failure takes it out again at once
 * (its run of failures did not end). A success ends the run. State is per scheduler and in
 * memory: a new process starts with every member in.
 */
export class MemberHealth {
  readonly #members = new Map<string, MemberState & { readonly group: string; readonly url: string }>();
  readonly #onChange: () => void;

  /** `onChange`: the set of members taken out changed (for publishing it). */
  constructor(onChange: () => void = () => undefined) {
    this.#onChange = onChange;
  }

  isOut(group: string, url: string, now: number): boolean {
    const until = this.#members.get(keyOf(group, url))?.until;
    return until !== undefined && until > now;
  }

  succeeded(group: string, url: string): void {
    const key = keyOf(group, url);
    const state = this.#members.get(key);
    if (state === undefined) return;
    this.#members.delete(key);
    if (state.until !== undefined) this.#onChange();
  }

  failed(group: string, url: string, error: string, policy: PassiveHealth, now: number): void {
    const key = keyOf(group, url);
    const state = this.#members.get(key) ?? { group, url, failures: 0, lastError: '', until: undefined };
    state.failures += 1;
    state.lastError = error;
    this.#members.set(key, state);
    const out = state.until !== undefined && state.until > now;
    if (!out && state.failures >= policy.consecutiveFailures) {
      state.until = now + policy.backoffMs;
      this.#onChange();
    }
  }

  /** The members taken out at `now`. */
  ejections(now: number): Ejection[] {
    const out: Ejection[] = [];
    for (const state of this.#members.values())
      if (state.until !== undefined && state.until > now)
        out.push({
          group: state.group,
          url: state.url,
          until: state.until,
          failures: state.failures,
          lastError: state.lastError,
        });
    return out;
  }
}

function keyOf(group: string, url: string): string {
  return `${group}|${url}`;
}
