import {
  type Clock,
  type FieldIssue,
  type TargetPolicy,
  type WorkerGroup,
  type WorkerGroupSpec,
  GROUP_NAME_RULE,
  checkMemberUrl,
  createWorkerGroup,
  formatInstant,
  groupDefinedEvent,
  groupDeletedEvent,
  groupUpdatedEvent,
  isValidGroupName,
  liveMembers,
  memberJoinedEvent,
  memberLeftEvent,
  normaliseMemberUrl,
  parseInstant,
  parseWorkerGroupSpec,
  reviseWorkerGroup,
} from '@nono/domain';
import { type MemberLeaseRecord, type WorkerHealthRecord } from '@nono/coordination';
import { type Static } from '@sinclair/typebox';
import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { principalOf } from '../auth/authenticate.js';
import { ApiError, ApiErrorCode } from '../errors.js';
import {
  type VersionedGroup,
  type VersionedLease,
  type WorkerGroupStore,
} from '../groups/worker-group-store.js';
import { parseBody } from '../request-validation.js';
import {
  CreateWorkerGroupBody,
  GroupMembersResponse,
  GroupNameParams,
  MemberLeaseResponse,
  MemberParams,
  NoContent,
  RegisterMemberBody,
  ReplaceWorkerGroupBody,
  WorkerGroupListResponse,
  WorkerGroupResponse,
} from '../schemas.js';
import { etagOf } from '../tasks/etag.js';
import { writeMatching } from '../tasks/task-write.js';

export interface WorkerGroupRouteDeps {
  readonly groups: WorkerGroupStore;
  readonly clock: Clock;
  readonly targetPolicy: TargetPolicy;
  readonly eventSource: string;
}

type NameParams = { Params: Static<typeof GroupNameParams> };
type MemberIdParams = { Params: Static<typeof MemberParams> };

/**
 * Worker groups: definitions (admin; ETag and If-Match as for tasks, every change audited),
 * their members with lease and passive health (viewer), and dynamic members registering and
 * renewing their lease, or leaving (operator: the token a worker process holds).
 */
export function registerWorkerGroupRoutes(app: FastifyInstance, deps: WorkerGroupRouteDeps): void {
  const { groups } = deps;
  const tags = ['worker groups'];
  const audit = (request: FastifyRequest) => ({
    actor: principalOf(request).actor,
    source: deps.eventSource,
    now: deps.clock.now(),
  });

  app.post(
    '/worker-groups',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: 'Define a worker group',
        body: CreateWorkerGroupBody,
        response: { 201: WorkerGroupResponse },
      },
    },
    async (request, reply) => {
      const { name, spec } = parseGroupBody(request.body, deps.targetPolicy, { required: true });
      const context = audit(request);
      const group = createWorkerGroup(name, spec, context.now);
      const created = await groups.create(group, groupDefinedEvent(group, context));
      return sendGroup(
        reply.header('location', `${request.url.replace(/\/+$/, '')}/${encodeURIComponent(name)}`),
        created,
        201,
      );
    },
  );

  app.get(
    '/worker-groups',
    {
      config: { minRole: 'viewer' },
      schema: { tags, summary: 'List worker groups', response: { 200: WorkerGroupListResponse } },
    },
    async () => {
      const now = deps.clock.now();
      const all = await groups.list();
      const items = await Promise.all(
        all.map(async ({ group }) => ({
          etag: etagOf(group.revision),
          liveMembers: liveMembers(
            group,
            (await groups.leases(group.name)).map(({ lease }) => lease),
            now,
          ).length,
          group,
        })),
      );
      return { items };
    },
  );

  app.get<NameParams>(
    '/worker-groups/:name',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: 'Read a worker group (ETag = revision)',
        params: GroupNameParams,
        response: { 200: WorkerGroupResponse },
      },
    },
    async (request, reply) => sendGroup(reply, await loadGroup(groups, request.params.name)),
  );

  app.put<NameParams>(
    '/worker-groups/:name',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: 'Replace a worker group (honours If-Match)',
        params: GroupNameParams,
        body: ReplaceWorkerGroupBody,
        response: { 200: WorkerGroupResponse },
      },
    },
    async (request, reply) => {
      const name = request.params.name;
      const { spec } = parseGroupBody(request.body, deps.targetPolicy, { required: false, expected: name });
      const current = await loadGroup(groups, name);
      const saved = await writeMatching(request, current.group.revision, 'worker group', () => {
        const context = audit(request);
        const next = reviseWorkerGroup(current.group, spec, context.now);
        return groups.replace(current, next, groupUpdatedEvent(current.group, next, context));
      });
      return sendGroup(reply, saved);
    },
  );

  app.delete<NameParams>(
    '/worker-groups/:name',
    {
      config: { minRole: 'admin' },
      schema: {
        tags,
        summary: "Delete a worker group and its members' leases (honours If-Match)",
        params: GroupNameParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const current = await loadGroup(groups, request.params.name);
      await writeMatching(request, current.group.revision, 'worker group', () =>
        groups.remove(current, groupDeletedEvent(current.group, audit(request))),
      );
      return reply.code(204).send();
    },
  );

  app.get<NameParams>(
    '/worker-groups/:name/members',
    {
      config: { minRole: 'viewer' },
      schema: {
        tags,
        summary: 'The members of a worker group: static and dynamic, their leases and passive health',
        params: GroupNameParams,
        response: { 200: GroupMembersResponse },
      },
    },
    async (request) => {
      const { group } = await loadGroup(groups, request.params.name);
      const [leases, health] = await Promise.all([groups.leases(group.name), groups.ejections()]);
      return describeMembers(group, leases, health, deps.clock.now());
    },
  );

  app.put<MemberIdParams>(
    '/worker-groups/:name/members/:memberId',
    {
      config: { minRole: 'operator' },
      schema: {
        tags,
        summary:
          'Register a dynamic member, or renew its lease (the heartbeat): 201 when it joins, 200 when it renews',
        params: MemberParams,
        body: RegisterMemberBody,
        response: { 200: MemberLeaseResponse, 201: MemberLeaseResponse },
      },
    },
    async (request, reply) => {
      const { name, memberId } = request.params;
      const { url } = parseBody(RegisterMemberBody, request.body);
      const syntax = checkMemberUrl(url, 'url');
      if (syntax.length > 0) throw new ApiError(ApiErrorCode.InvalidMember, undefined, syntax);
      const refused = deps.targetPolicy.check(url, 'url');
      if (refused.length > 0) throw new ApiError(ApiErrorCode.TargetNotAllowed, undefined, refused);
      const { group } = await loadGroup(groups, name);
      const previous = await groups.lease(name, memberId);
      const context = audit(request);
      const now = formatInstant(context.now);
      // Renewing: the same member, at the same URL, before its lease ran out. Anything else joins anew.
      const renews =
        previous !== undefined &&
        normaliseMemberUrl(previous.lease.url) === normaliseMemberUrl(url) &&
        (parseInstant(previous.lease.expiresAt) ?? 0) > context.now;
      const lease: MemberLeaseRecord = {
        memberId,
        url,
        leaseMs: group.leaseMs,
        registeredAt: renews ? previous.lease.registeredAt : now,
        renewedAt: now,
        expiresAt: formatInstant(context.now + group.leaseMs),
        registeredBy: principalOf(request).actor.id,
      };
      const saved = await groups.putLease(
        name,
        lease,
        previous,
        renews ? undefined : memberJoinedEvent(name, lease, context),
      );
      return reply.code(renews ? 200 : 201).send(describeLease(name, saved.lease));
    },
  );

  app.delete<MemberIdParams>(
    '/worker-groups/:name/members/:memberId',
    {
      config: { minRole: 'operator' },
      schema: {
        tags,
        summary: 'Deregister a dynamic member: it gets no new calls from now on',
        params: MemberParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const { name, memberId } = request.params;
      await loadGroup(groups, name);
      const current = await groups.lease(name, memberId);
      if (current === undefined)
        throw new ApiError(ApiErrorCode.MemberNotFound, `no member "${memberId}" in worker group "${name}"`);
      await groups.removeLease(name, current, memberLeftEvent(name, current.lease, audit(request)));
      return reply.code(204).send();
    },
  );
}

async function loadGroup(groups: WorkerGroupStore, name: string): Promise<VersionedGroup> {
  const current = await groups.get(name);
  if (current === undefined)
    throw new ApiError(ApiErrorCode.WorkerGroupNotFound, `no worker group "${name}"`);
  return current;
}

function sendGroup(reply: FastifyReply, versioned: VersionedGroup, status = 200): FastifyReply {
  return reply.code(status).header('etag', etagOf(versioned.group.revision)).send(versioned.group);
}

/**
 * A request body to a valid spec, or one error naming every bad field. `name` is the one field
 * outside the spec: required on create, optional on replace (then it must equal the path's).
 * Member hosts are checked against the allow-list, as task URLs are.
 */
function parseGroupBody(
  body: unknown,
  policy: TargetPolicy,
  name: { required: true } | { required: false; expected: string },
): { name: string; spec: WorkerGroupSpec } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ApiError(ApiErrorCode.BadRequest, 'the body must be a JSON object', [
      { field: '', message: 'must be a JSON object' },
    ]);
  const { name: rawName, ...rest } = body as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  let chosen = name.required ? '' : name.expected;
  if (rawName === undefined) {
    if (name.required) issues.push({ field: 'name', message: 'is required' });
  } else if (typeof rawName !== 'string' || !isValidGroupName(rawName)) {
    issues.push({ field: 'name', message: GROUP_NAME_RULE });
  } else if (!name.required && rawName !== name.expected) {
    issues.push({ field: 'name', message: `must equal the name in the path ("${name.expected}")` });
  } else {
    chosen = rawName;
  }
  const parsed = parseWorkerGroupSpec(rest);
  if (!parsed.ok) issues.push(...parsed.issues);
  if (issues.length > 0 || !parsed.ok) throw new ApiError(ApiErrorCode.InvalidWorkerGroup, undefined, issues);
  const refused = parsed.value.members.flatMap((member, index) =>
    policy.check(member.url, `members[${index}].url`),
  );
  if (refused.length > 0) throw new ApiError(ApiErrorCode.TargetNotAllowed, undefined, refused);
  return { name: chosen, spec: parsed.value };
}

function describeLease(group: string, lease: MemberLeaseRecord): Static<typeof MemberLeaseResponse> {
  return {
    group,
    memberId: lease.memberId,
    url: lease.url,
    leaseMs: lease.leaseMs,
    registeredAt: lease.registeredAt,
    renewedAt: lease.renewedAt,
    expiresAt: lease.expiresAt,
  };
}

/** Static members, live dynamic ones, then lapsed ones; each with what live schedulers' passive health says. */
function describeMembers(
  group: WorkerGroup,
  leases: readonly VersionedLease[],
  health: readonly WorkerHealthRecord[],
  now: number,
): Static<typeof GroupMembersResponse> {
  const byId = new Map(leases.map(({ lease }) => [lease.memberId, lease]));
  const live = liveMembers(group, [...byId.values()], now);
  const listed = new Set(live.map((member) => member.memberId).filter((id) => id !== undefined));
  const lapsed = [...byId.values()].filter(
    (lease) => !listed.has(lease.memberId) && (parseInstant(lease.expiresAt) ?? 0) <= now,
  );
  const takenOutBy = (url: string) =>
    health.flatMap((record) =>
      record.ejected
        .filter(
          (e) =>
            e.group === group.name &&
            normaliseMemberUrl(e.url) === normaliseMemberUrl(url) &&
            (parseInstant(e.until) ?? 0) > now,
        )
        .map((e) => ({
          schedulerId: record.schedulerId,
          cause: e.cause ?? ('passive' as const),
          until: e.until,
          failures: e.failures,
          lastError: e.lastError,
        })),
    );
  const row = (url: string, lease: MemberLeaseRecord | undefined, state: 'static' | 'live' | 'lapsed') => {
    const out = takenOutBy(url);
    return {
      url,
      source: lease === undefined ? ('static' as const) : ('dynamic' as const),
      memberId: lease?.memberId ?? null,
      state,
      registeredAt: lease?.registeredAt ?? null,
      renewedAt: lease?.renewedAt ?? null,
      expiresAt: lease?.expiresAt ?? null,
      health: out.length > 0 ? ('out' as const) : ('in' as const),
      takenOutBy: out,
    };
  };
  return {
    group: group.name,
    leaseMs: group.leaseMs,
    checkedAt: formatInstant(now),
    members: [
      ...live.map((member) =>
        member.memberId === undefined
          ? row(member.url, undefined, 'static')
          : row(member.url, byId.get(member.memberId), 'live'),
      ),
      ...lapsed.map((lease) => row(lease.url, lease, 'lapsed')),
    ],
  };
}
