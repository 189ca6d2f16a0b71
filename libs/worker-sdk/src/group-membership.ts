/** How a worker joins a worker group: the API's address, a token of the operator role, and its own identity. */
export interface GroupMembershipOptions {
  /** The nono API, e.g. http://127.0.0.1:7200. */
  readonly apiUrl: string;
  readonly token: string;
  /** The group's name. */
  readonly group: string;
  /** This worker's id in the group (its host and port, say): letters, digits, ".", "_", "-". */
  readonly memberId: string;
  /** The URL nono calls this worker at (its base URL; a task's target.path is appended). */
  readonly url: string;
  /** How often to renew; default a third of the group's lease. */
  readonly heartbeatMs?: number;
}

export interface MembershipLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

interface LeaseAnswer {
  readonly leaseMs: number;
  readonly expiresAt: string;
}

/**
 * Registers with the group, then renews the lease (the heartbeat) until stopped; `leave`
 * deregisters, so no new call comes before the drain finishes. A failed registration or
 * heartbeat is retried at the next beat (sooner for the first): while the API is away the
 * lease may lapse, and the member is simply out of the group until a heartbeat gets through.
 */
export class GroupMembership {
  readonly #o: GroupMembershipOptions;
  readonly #log: MembershipLog;
  readonly #fetch: typeof fetch;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #lease: LeaseAnswer | undefined;

  constructor(options: GroupMembershipOptions, log: MembershipLog, fetchImpl: typeof fetch = fetch) {
    this.#o = options;
    this.#log = log;
    this.#fetch = fetchImpl;
  }

  /** The last lease the API granted, if any. */
  get lease(): LeaseAnswer | undefined {
    return this.#lease;
  }

  /** Registers now (resolves once it got through or failed once) and keeps renewing. */
  async join(): Promise<void> {
    this.#stopped = false;
    await this.#beat();
  }

  async #beat(): Promise<void> {
    if (this.#stopped) return;
    let delayMs: number;
    try {
      const response = await this.#fetch(this.#memberUrl(), {
        method: 'PUT',
        headers: { ...this.#auth(), 'content-type': 'application/json' },
        body: JSON.stringify({ url: this.#o.url }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`the API answered ${response.status}: ${text.slice(0, 300)}`);
      const lease = JSON.parse(text) as LeaseAnswer;
      if (response.status === 201 || this.#lease === undefined)
        this.#log.info(
          { group: this.#o.group, memberId: this.#o.memberId, expiresAt: lease.expiresAt },
          'joined the worker group',
        );
      this.#lease = lease;
      delayMs = this.#o.heartbeatMs ?? Math.max(200, Math.floor(lease.leaseMs / 3));
    } catch (error) {
      this.#log.warn(
        {
          group: this.#o.group,
          memberId: this.#o.memberId,
          err: error instanceof Error ? error.message : String(error),
        },
        'could not register with the worker group; retrying',
      );
      delayMs = Math.min(this.#o.heartbeatMs ?? 5_000, this.#lease === undefined ? 1_000 : 5_000);
    }
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#beat(), delayMs);
    this.#timer.unref();
  }

  /** Stops renewing and deregisters: nono sends no new call to this worker from now on. */
  async leave(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    try {
      const response = await this.#fetch(this.#memberUrl(), {
        method: 'DELETE',
        headers: this.#auth(),
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok && response.status !== 404) throw new Error(`the API answered ${response.status}`);
      this.#log.info({ group: this.#o.group, memberId: this.#o.memberId }, 'left the worker group');
    } catch (error) {
      // The lease lapses on its own: no call starts after it.
      this.#log.warn(
        { group: this.#o.group, err: error instanceof Error ? error.message : String(error) },
        'could not deregister; the lease lapses on its own',
      );
    }
  }

  #memberUrl(): string {
    const base = this.#o.apiUrl.replace(/\/+$/, '');
    return `${base}/api/v1/worker-groups/${encodeURIComponent(this.#o.group)}/members/${encodeURIComponent(this.#o.memberId)}`;
  }

  #auth(): Record<string, string> {
    return { authorization: `Bearer ${this.#o.token}` };
  }
}
