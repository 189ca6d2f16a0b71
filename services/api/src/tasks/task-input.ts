import {
  type FieldIssue,
  TASK_ID_RULE,
  type TargetPolicy,
  type TaskSpec,
  isValidTaskId,
  parseTaskSpec,
} from '@nono/domain';
import { ApiError, ApiErrorCode } from '../errors.js';

const ID_ISSUE: FieldIssue = { field: 'id', message: TASK_ID_RULE };

export function requireTaskId(id: string): string {
  if (!isValidTaskId(id)) throw new ApiError(ApiErrorCode.InvalidInput, undefined, [ID_ISSUE]);
  return id;
}

/**
 * Turns a request body into a valid spec or throws one error naming every bad field.
 * `id` is the one field outside the spec: required on create, optional on replace (and
 * then it must equal the path's). The target host is checked here, not in the domain:
 * which hosts are reachable is deployment policy, not task meaning.
 */
export function parseSpecBody(
  body: unknown,
  options: {
    now: number;
    policy: TargetPolicy;
    id: { required: true } | { required: false; expected: string };
  },
): { id: string; spec: TaskSpec } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(ApiErrorCode.BadRequest, 'the body must be a JSON object', [
      { field: '', message: 'must be a JSON object' },
    ]);
  }
  const { id: rawId, ...rest } = body as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  let id = options.id.required ? '' : options.id.expected;
  if (rawId === undefined) {
    if (options.id.required) issues.push({ field: 'id', message: 'is required' });
  } else if (typeof rawId !== 'string' || !isValidTaskId(rawId)) {
    issues.push(ID_ISSUE);
  } else if (!options.id.required && rawId !== options.id.expected) {
    issues.push({ field: 'id', message: `must equal the id in the path ("${options.id.expected}")` });
  } else {
    id = rawId;
  }
  const parsed = parseTaskSpec(rest, options.now);
  if (!parsed.ok) issues.push(...parsed.issues);
  const target = rest.target as { url?: unknown; cancelUrl?: unknown } | undefined;
  // The cancel URL is called from inside the network too: the same allow-list holds for it.
  const hostIssues = [
    ...(typeof target?.url === 'string' ? options.policy.check(target.url) : []),
    ...(typeof target?.cancelUrl === 'string'
      ? options.policy.check(target.cancelUrl, 'target.cancelUrl')
      : []),
  ];
  if (issues.length > 0 || !parsed.ok)
    throw new ApiError(ApiErrorCode.InvalidTask, undefined, [...issues, ...hostIssues]);
  if (hostIssues.length > 0) throw new ApiError(ApiErrorCode.TargetNotAllowed, undefined, hostIssues);
  return { id, spec: parsed.value };
}
