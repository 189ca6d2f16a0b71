import { type ActiveHealth, type Clock, memberCallUrl } from '@nono/domain';
import { type Logger } from '@nono/runtime';
import { request } from 'undici';
import { type MemberHealth, keyOf } from './member-health.js';

/** A member to probe: its group's probe settings and its base URL. */
export interface ProbeTarget {
  readonly group: string;
  readonly url: string;
  readonly policy: ActiveHealth;
}

/** One probe: resolves to undefined when it passed, or why it failed; never rejects. */
export type Probe = (url: string, timeoutMs: number) => Promise<string | undefined>;

export interface MemberProberOptions {
  /** The members to probe now (the groups with `activeHealth`, their live members). */
  readonly targets: (now: number) => readonly ProbeTarget[];
  readonly health: MemberHealth;
  readonly clock: Clock;
  readonly log: Logger;
  readonly probe?: Probe;
  /** How often it looks for probes that are due. */
  readonly tickMs?: number;
  /** Where in its first interval a member's first probe falls, 0..1 (spreads probes). */
  readonly random?: () => number;
}

/**
 * Active health: probes each member of each group that asks for it, every `intervalMs`, and
 * tells MemberHealth the verdicts. Each scheduler probes on its own (as each proxy in front of
 * a pool does): its routing then rests on what it saw itself, and a scheduler cut off from a
 * member takes it out even when others still reach it. The first probe of a member falls at a
 * random point of its first interval, so schedulers and members do not probe in step. At most
 * one probe per member runs at a time.
 */
export class MemberProber {
  readonly #o: Required<MemberProberOptions>;
  /** When each member's next probe is due, by member key. */
  readonly #dueAt = new Map<string, number>();
  readonly #running = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: MemberProberOptions) {
    this.#o = { probe: httpProbe, tickMs: 250, random: Math.random, ...options };
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.tick(), this.#o.tickMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Starts the probes that are due (the timer calls it; tests may too). */
  tick(): void {
    const now = this.#o.clock.now();
    const targets = this.#o.targets(now);
    const keys = new Set<string>();
    for (const target of targets) {
      const key = keyOf(target.group, target.url);
      keys.add(key);
      const due = this.#dueAt.get(key);
      if (due === undefined) {
        this.#dueAt.set(key, now + Math.floor(this.#o.random() * target.policy.intervalMs));
        continue;
      }
      if (due > now || this.#running.has(key)) continue;
      this.#dueAt.set(key, now + target.policy.intervalMs);
      this.#running.add(key);
      void this.#probeOnce(key, target);
    }
    for (const key of this.#dueAt.keys()) if (!keys.has(key)) this.#dueAt.delete(key);
    this.#o.health.keepProbed(keys);
  }

  async #probeOnce(key: string, target: ProbeTarget): Promise<void> {
    const { health, clock, log, probe } = this.#o;
    const url = memberCallUrl(target.url, target.policy.path);
    const error = await probe(url, target.policy.timeoutMs);
    this.#running.delete(key);
    // Left the group while the probe ran: its verdict is of no use.
    if (!this.#dueAt.has(key)) return;
    const wasOut = health.isOut(target.group, target.url, clock.now());
    health.probed(target.group, target.url, error, target.policy, clock.now());
    const isOut = health.isOut(target.group, target.url, clock.now());
    if (wasOut !== isOut)
      log.info(
        { group: target.group, member: target.url, out: isOut, ...(error === undefined ? {} : { error }) },
        isOut ? 'a member failed its health probes: taken out' : 'a member passed its health probes: back in',
      );
  }
}

/** `GET url`: passes on a 2xx within `timeoutMs`; the body is read and dropped. */
export const httpProbe: Probe = async (url, timeoutMs) => {
  try {
    const response = await request(url, {
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'user-agent': 'nono-scheduler health probe' },
    });
    await response.body.dump();
    return response.statusCode >= 200 && response.statusCode < 300
      ? undefined
      : `health probe answered HTTP ${response.statusCode}`;
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'TimeoutError' || name === 'AbortError' || name.includes('Timeout'))
      return `health probe not answered within ${timeoutMs} ms`;
    return `health probe failed: ${error instanceof Error ? error.message : String(error)}`;
  }
};
