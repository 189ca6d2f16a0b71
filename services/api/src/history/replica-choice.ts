/**
 * Which history replica a read goes to: pure rules over what the probes and the last requests
 * learnt of each replica (docs/ARCHITECTURE.md, "History replicas").
 *
 * * `current`: its /readyz answered 200 and the lag it reported is at most the API's bound
 *   (NONO_HISTORY_MAX_LAG).
 * * `behind`: it answered, but not as current (catching up after a restart, still starting,
 *   or further behind than the bound): its answers are stale, not absent.
 * * `down`: its probe or a request to it failed (no answer, a timeout, a 5xx, or it refused
 *   the API's token) since it last answered.
 * * `unknown`: not probed yet.
 */
export type ReplicaState = 'unknown' | 'current' | 'behind' | 'down';

export interface ReplicaHealth {
  readonly state: ReplicaState;
  /** Records the replica had not projected yet when it last reported; undefined when not known. */
  readonly lag: number | undefined;
  /** The name the replica reports for itself (its NONO_HISTORY_REPLICA), once known. */
  readonly name: string | undefined;
  /** A short reason for a person. */
  readonly detail: string;
}

export const UNPROBED: ReplicaHealth = {
  state: 'unknown',
  lag: undefined,
  name: undefined,
  detail: 'not probed yet',
};

/** What a replica's /readyz answer (`status`, JSON `body`) says about it. */
export function judgeReadiness(
  status: number,
  body: unknown,
  maxLag: number,
  previous: ReplicaHealth,
): ReplicaHealth {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const lag = typeof fields['lag'] === 'number' ? fields['lag'] : undefined;
  const name = typeof fields['replica'] === 'string' ? fields['replica'] : previous.name;
  if (status === 200 && (lag === undefined || lag <= maxLag))
    return { state: 'current', lag, name, detail: 'ready' };
  const detail =
    status === 200
      ? `${lag} events behind, more than ${maxLag}`
      : lag === undefined
        ? `not ready (${status})`
        : `catching up, ${lag} events behind`;
  return { state: 'behind', lag, name, detail };
}

/** A replica that did not answer, or whose answer the API cannot use. */
export function judgeFailure(previous: ReplicaHealth, detail: string): ReplicaHealth {
  return { ...previous, state: 'down', detail };
}

/**
 * The order in which one read tries the replicas (indexes into `replicas`):
 *
 * 1. the replica the last read was answered by (`sticky`), while it is current, so that a
 *    client paging through a list reads every page from one database;
 * 2. the other current replicas, in the configured order (so API processes started alike
 *    choose alike);
 * 3. the replicas that are behind, least behind first (an unknown lag after every known one);
 * 4. those not probed yet, in the configured order;
 * 5. those that are down, in the configured order: what the API last learnt of them may be
 *    older than their recovery, and a refused connection costs little before a 502.
 */
export function readOrder(replicas: readonly ReplicaHealth[], sticky: number | undefined): number[] {
  const indexes = replicas.map((_, index) => index);
  const inState = (state: ReplicaState): number[] =>
    indexes.filter((index) => replicas[index]?.state === state);
  const current = inState('current');
  const first = sticky !== undefined && current.includes(sticky) ? [sticky] : [];
  const lagOf = (index: number): number => replicas[index]?.lag ?? Number.POSITIVE_INFINITY;
  return [
    ...first,
    ...current.filter((index) => index !== sticky),
    ...inState('behind').sort((a, b) => lagOf(a) - lagOf(b) || a - b),
    ...inState('unknown'),
    ...inState('down'),
  ];
}

/** The history line of /status: reachable when some replica answers, with where reads go. */
export function summariseReplicas(
  replicas: readonly ReplicaHealth[],
  readsTo: number | undefined,
): { reachable: boolean; detail: string } {
  const reachable = replicas.some(({ state }) => state === 'current' || state === 'behind');
  const only = replicas.length === 1 ? replicas[0] : undefined;
  if (only !== undefined)
    return {
      reachable,
      detail: only.state === 'down' ? 'the history service did not answer' : only.detail,
    };
  const current = replicas.filter(({ state }) => state === 'current').length;
  const target = readsTo === undefined ? undefined : replicas[readsTo];
  const where =
    reachable && readsTo !== undefined && target !== undefined
      ? `reads go to replica ${readsTo + 1}${target.name === undefined ? '' : ` (${target.name})`}`
      : 'none answers';
  return { reachable, detail: `${current} of ${replicas.length} replicas current; ${where}` };
}
