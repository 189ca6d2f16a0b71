/**
 * Who owns which task. The leader scheduler computes the next assignment from the
 * previous one with `rebalance`, a pure function, so the rules are unit-tested here and
 * every instance would agree on the result:
 *   1. a task whose owner is still a member keeps it (no needless hand-over);
 *   2. orphaned and new tasks go to the least-loaded members;
 *   3. tasks then move one at a time from the most- to the least-loaded member until loads
 *      differ by at most one, so no member has more than ceil(N/M).
 * Only the tasks that must move, move.
 */
export interface Assignment {
  readonly generation: number;
  readonly members: readonly string[];
  readonly owners: Readonly<Record<string, readonly string[]>>;
}

export function rebalance(
  previous: Assignment | undefined,
  members: readonly string[],
  taskIds: readonly string[],
): Assignment {
  const liveMembers = [...new Set(members)].sort();
  const tasks = new Set(taskIds);
  const owned = new Map<string, Set<string>>(liveMembers.map((member) => [member, new Set<string>()]));
  if (liveMembers.length === 0)
    return { generation: (previous?.generation ?? 0) + 1, members: [], owners: {} };

  const placed = new Set<string>();
  for (const [member, memberTasks] of Object.entries(previous?.owners ?? {})) {
    const bucket = owned.get(member);
    if (bucket === undefined) continue;
    for (const taskId of memberTasks) {
      if (tasks.has(taskId) && !placed.has(taskId)) {
        bucket.add(taskId);
        placed.add(taskId);
      }
    }
  }

  const buckets = [...owned.entries()];
  const leastLoaded = (): [string, Set<string>] =>
    buckets.reduce(
      (best, entry) => (entry[1].size < best[1].size ? entry : best),
      buckets[0] as [string, Set<string>],
    );
  const mostLoaded = (): [string, Set<string>] =>
    buckets.reduce(
      (best, entry) => (entry[1].size > best[1].size ? entry : best),
      buckets[0] as [string, Set<string>],
    );

  for (const taskId of [...tasks].filter((id) => !placed.has(id)).sort()) leastLoaded()[1].add(taskId);

  for (;;) {
    const [, most] = mostLoaded();
    const [, least] = leastLoaded();
    if (most.size - least.size <= 1) break;
    // Move the highest id: deterministic, and stable tasks (low ids) tend to stay put.
    const moving = [...most].sort().at(-1) as string;
    most.delete(moving);
    least.add(moving);
  }

  const owners: Record<string, string[]> = {};
  for (const [member, bucket] of buckets) owners[member] = [...bucket].sort();
  return { generation: (previous?.generation ?? 0) + 1, members: liveMembers, owners };
}

/** Whether two assignments give every member the same tasks (generation aside). */
export function sameOwnership(a: Assignment | undefined, b: Assignment): boolean {
  if (a === undefined) return false;
  const keysA = Object.keys(a.owners).sort();
  const keysB = Object.keys(b.owners).sort();
  if (keysA.join('\n') !== keysB.join('\n')) return false;
  return keysA.every((key) => (a.owners[key] ?? []).join('\n') === (b.owners[key] ?? []).join('\n'));
}

/** The inverse view: task id → owner. */
export function ownerIndex(assignment: Assignment): Map<string, string> {
  const index = new Map<string, string>();
  for (const [member, taskIds] of Object.entries(assignment.owners))
    for (const taskId of taskIds) index.set(taskId, member);
  return index;
}
