import { type Static, Type } from '@sinclair/typebox';
import { ErrorCode, type FieldIssue, type Result, ValidationError, fail } from './errors.js';
import { type EpochMs, formatInstant, parseInstant } from './instant.js';
import { type TargetPolicy } from './target-policy.js';
import { compileValidator } from './validation.js';

/**
 * A worker group: a named set of endpoints a task can target instead of one URL
 * (`target: { group, route }`). Members are static (listed in the definition, in order) or
 * dynamic (a worker registers itself through the API with a lease it renews; a lapsed lease
 * leaves the group). docs/WORKER-GROUPS.md describes the whole feature.
 */

export const GROUP_NAME_MAX_LENGTH = 64;
export const GROUP_NAME_PATTERN = `^[a-z0-9](?:[a-z0-9._-]{0,${GROUP_NAME_MAX_LENGTH - 2}}[a-z0-9])?$`;
export const GROUP_NAME_RULE = `must be 1-${GROUP_NAME_MAX_LENGTH} lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit`;

/** A dynamic member's id: the znode name of its lease, chosen by the worker (its host and port, say). */
export const MEMBER_ID_PATTERN = '^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$';
export const MEMBER_ID_RULE =
  'must be 1-100 letters, digits, ".", "_" or "-", starting and ending with a letter or digit';

export const MAX_STATIC_MEMBERS = 100;
export const MEMBER_URL_MAX_LENGTH = 2048;

/** The most shard executions one instant of a `shard` task becomes. */
export const MAX_SHARDS = 1_000;

/** How a task's calls are spread over its group's members. */
export const WORKER_ROUTES = [
  'round-robin',
  'random',
  'consistent-hash',
  'least-in-flight',
  'failover',
  'shard',
  'broadcast',
] as const;
export type WorkerRoute = (typeof WORKER_ROUTES)[number];
export const WorkerRouteSchema = Type.Union(
  WORKER_ROUTES.map((route) => Type.Literal(route)),
  {
    default: 'round-robin',
    description:
      'round-robin; random; consistent-hash (by task id: a task sticks to one member while membership is stable); least-in-flight (fewest calls this scheduler has running there); failover (the first healthy member in order; a failed attempt is retried on the next); shard (each instant becomes target.shards shard executions spread over the live members); broadcast (each instant becomes one execution per member live at the claim)',
  },
);

export const PassiveHealthSchema = Type.Object(
  {
    consecutiveFailures: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 3,
      description:
        'a member whose calls failed this many times in a row (no answer, timed out, or 5xx) is taken out',
    }),
    backoffMs: Type.Integer({
      minimum: 1_000,
      maximum: 3_600_000,
      default: 30_000,
      description: 'how long a member taken out gets no calls; then one call tries it again',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type PassiveHealth = Static<typeof PassiveHealthSchema>;

/**
 * Active health: each scheduler probes each member with `GET <member><path>` every
 * `intervalMs`; a member that fails `unhealthyAfter` probes in a row (no answer within
 * `timeoutMs`, or not 2xx) is taken out until `healthyAfter` probes in a row succeed. Unlike
 * passive health it notices a dead member before a task's call is spent on it, and brings it
 * back without spending one either.
 */
export const ActiveHealthSchema = Type.Object(
  {
    path: Type.String({
      pattern: '^/[^?#\\s]*$',
      maxLength: 200,
      default: '/healthz',
      description: "appended to each member's base URL (the worker SDK answers /healthz)",
    }),
    intervalMs: Type.Integer({ minimum: 1_000, maximum: 300_000, default: 10_000 }),
    timeoutMs: Type.Integer({
      minimum: 100,
      maximum: 60_000,
      default: 2_000,
      description: 'a probe not answered within this fails (must be under intervalMs)',
    }),
    unhealthyAfter: Type.Integer({
      minimum: 1,
      maximum: 20,
      default: 2,
      description: 'failed probes in a row that take a member out',
    }),
    healthyAfter: Type.Integer({
      minimum: 1,
      maximum: 20,
      default: 1,
      description: 'passed probes in a row that bring a member taken out by probes back',
    }),
  },
  { additionalProperties: false },
);
export type ActiveHealth = Static<typeof ActiveHealthSchema>;

export const StaticMemberSchema = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: MEMBER_URL_MAX_LENGTH,
      description: "the member's base URL (http or https, no query); a task's target.path is appended to it",
    }),
  },
  { additionalProperties: false },
);

/** What a person writes: the group without the fields nono manages. */
export const WorkerGroupSpecSchema = Type.Object(
  {
    description: Type.String({ maxLength: 2000, default: '' }),
    members: Type.Array(StaticMemberSchema, {
      maxItems: MAX_STATIC_MEMBERS,
      default: [],
      description: 'static members, in order (the order failover follows); dynamic members come after them',
    }),
    leaseMs: Type.Integer({
      minimum: 1_000,
      maximum: 600_000,
      default: 15_000,
      description:
        'how long a dynamic member stays in the group after its last registration or heartbeat (renew well within it: a third of it is a good interval)',
    }),
    passiveHealth: PassiveHealthSchema,
    activeHealth: Type.Optional(ActiveHealthSchema),
  },
  { additionalProperties: false },
);
export type WorkerGroupSpec = Static<typeof WorkerGroupSpecSchema>;

/** The stored group (`/worker-groups/<name>` in ZooKeeper). */
export const WorkerGroupSchema = Type.Composite(
  [
    Type.Object({
      name: Type.String({ pattern: GROUP_NAME_PATTERN }),
      createdAt: Type.String(),
      updatedAt: Type.String(),
      revision: Type.Integer({ minimum: 1 }),
    }),
    WorkerGroupSpecSchema,
  ],
  { additionalProperties: false },
);
export type WorkerGroup = Static<typeof WorkerGroupSchema>;

const specValidator = compileValidator(WorkerGroupSpecSchema);
const groupValidator = compileValidator(WorkerGroupSchema);

export function isValidGroupName(name: string): boolean {
  return new RegExp(GROUP_NAME_PATTERN).test(name);
}

export function isValidMemberId(id: string): boolean {
  return new RegExp(MEMBER_ID_PATTERN).test(id);
}

/**
 * A member URL's syntax: absolute http(s), no credentials, no query or fragment (a task's
 * `target.path` is appended, and may carry the query). Whether its host may be called is the
 * deployment's target policy, checked separately with the same rules as task URLs.
 */
export function checkMemberUrl(text: string, field: string): FieldIssue[] {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [{ field, message: 'must be an absolute http:// or https:// URL' }];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return [{ field, message: 'must be an absolute http:// or https:// URL' }];
  if (url.username !== '' || url.password !== '')
    return [{ field, message: 'must not carry credentials (user:password@)' }];
  if (url.search !== '' || url.hash !== '' || text.includes('?') || text.includes('#'))
    return [{ field, message: "must have no query or fragment (a task's target.path may have a query)" }];
  return [];
}

/** One spelling per member URL (trailing slashes dropped), to compare and join them. */
export function normaliseMemberUrl(text: string): string {
  return text.replace(/\/+$/, '');
}

/**
 * The URL a call to `memberUrl` for a task with `path` goes to: the path appended to the
 * member's base URL, or the member's URL itself without a path.
 */
export function memberCallUrl(memberUrl: string, path: string | undefined): string {
  return path === undefined ? memberUrl : `${normaliseMemberUrl(memberUrl)}${path}`;
}

/** Untrusted input to a complete spec (defaults applied) or the issues, one per bad field. */
export function parseWorkerGroupSpec(input: unknown): Result<WorkerGroupSpec> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return fail([{ field: '', message: 'a worker group must be a JSON object' }]);
  const shaped = specValidator.parse(input);
  if (!shaped.ok) return shaped;
  const issues = checkGroupRules(shaped.value);
  return issues.length === 0 ? shaped : fail(issues);
}

function checkGroupRules(spec: WorkerGroupSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const probes = spec.activeHealth;
  if (probes !== undefined && probes.timeoutMs >= probes.intervalMs)
    issues.push({ field: 'activeHealth.timeoutMs', message: 'must be under activeHealth.intervalMs' });
  const seen = new Map<string, number>();
  spec.members.forEach((member, index) => {
    const field = `members[${index}].url`;
    const problems = checkMemberUrl(member.url, field);
    issues.push(...problems);
    if (problems.length > 0) return;
    const key = normaliseMemberUrl(member.url);
    const first = seen.get(key);
    if (first !== undefined) issues.push({ field, message: `repeats members[${first}].url` });
    else seen.set(key, index);
  });
  return issues;
}

/** What a stored group must satisfy before a scheduler calls its static members. */
export function checkRunnableGroup(group: WorkerGroup, policy: TargetPolicy): FieldIssue[] {
  return [
    ...checkGroupRules(group),
    ...group.members.flatMap((member, index) => policy.check(member.url, `members[${index}].url`)),
  ];
}

/** Reads a stored group; anything malformed is reported, never trusted. */
export function parseStoredWorkerGroup(input: unknown): Result<WorkerGroup> {
  return groupValidator.parse(input);
}

export function createWorkerGroup(name: string, spec: WorkerGroupSpec, now: EpochMs): WorkerGroup {
  if (!isValidGroupName(name))
    throw new ValidationError(ErrorCode.InvalidWorkerGroup, [{ field: 'name', message: GROUP_NAME_RULE }]);
  const at = formatInstant(now);
  return { name, createdAt: at, updatedAt: at, revision: 1, ...spec };
}

export function reviseWorkerGroup(group: WorkerGroup, spec: WorkerGroupSpec, now: EpochMs): WorkerGroup {
  return {
    name: group.name,
    createdAt: group.createdAt,
    updatedAt: formatInstant(now),
    revision: group.revision + 1,
    ...spec,
  };
}

export function workerGroupSpecOf(group: WorkerGroup): WorkerGroupSpec {
  const { name: _name, createdAt: _c, updatedAt: _u, revision: _r, ...spec } = group;
  return spec;
}

/** A dynamic member as its lease record says (see `memberLeaseDocument` in libs/coordination). */
export interface MemberLease {
  readonly memberId: string;
  readonly url: string;
  readonly registeredAt: string;
  readonly expiresAt: string;
}

/** A member a call can go to, with where it came from. */
export interface GroupMember {
  readonly url: string;
  readonly source: 'static' | 'dynamic';
  /** A dynamic member's id. */
  readonly memberId?: string;
}

/**
 * The group's live members at `now`, in the order failover follows: the static ones as
 * listed, then the dynamic ones whose lease has not lapsed, oldest registration first. A
 * dynamic member at a static member's URL is that member (listed once, as static).
 */
export function liveMembers(
  group: Pick<WorkerGroup, 'members'>,
  leases: readonly MemberLease[],
  now: EpochMs,
): GroupMember[] {
  const members: GroupMember[] = group.members.map((member) => ({ url: member.url, source: 'static' }));
  const seen = new Set(members.map((member) => normaliseMemberUrl(member.url)));
  const live = leases
    .filter((lease) => (parseInstant(lease.expiresAt) ?? 0) > now)
    .sort(
      (a, b) =>
        (parseInstant(a.registeredAt) ?? 0) - (parseInstant(b.registeredAt) ?? 0) ||
        (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0),
    );
  for (const lease of live) {
    const key = normaliseMemberUrl(lease.url);
    if (seen.has(key)) continue;
    seen.add(key);
    members.push({ url: lease.url, source: 'dynamic', memberId: lease.memberId });
  }
  return members;
}
