import { type Static, Type } from '@sinclair/typebox';
import { type FieldIssue, type Result, fail } from './errors.js';
import { SkipReasonSchema } from './skip-reason.js';
import { compileValidator } from './validation.js';

/**
 * Alert rules: which tasks a rule watches (scope), what it watches for (condition), how
 * often an open alert may notify again, and where notifications go (channels). Rules are
 * stored by the alerts service; the schema is here so the API, the CLI and the events
 * share one definition.
 */

export const ALERT_RULE_ID_PATTERN = '^[a-z0-9](?:[a-z0-9._-]{0,126}[a-z0-9])?$';
const TaskId = Type.String({ minLength: 1, maxLength: 200 });
// The value is anything a label value may be: no `.` in the pattern, which JavaScript's regular
// expressions do not match with a line break and other engines (the fuzzer's) do.
const LABEL_SELECTOR_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9._/-]{0,62}:';

export const AlertScopeSchema = Type.Union([
  Type.Object({ kind: Type.Literal('all') }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('task'), taskId: TaskId }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('label'),
      selector: Type.String({
        pattern: LABEL_SELECTOR_PATTERN,
        maxLength: 264,
        description: 'key:value, e.g. team:payments',
      }),
    },
    { additionalProperties: false },
  ),
]);
export type AlertScope = Static<typeof AlertScopeSchema>;

const MAX_GRACE_MS = 7 * 86_400_000;
const MAX_WINDOW_MS = 7 * 86_400_000;

export const AlertConditionSchema = Type.Union([
  Type.Object(
    { kind: Type.Literal('failed') },
    { additionalProperties: false, description: 'an execution failed after its last attempt' },
  ),
  Type.Object({ kind: Type.Literal('timed-out') }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('lost') }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('skipped'),
      reasons: Type.Optional(Type.Array(SkipReasonSchema, { minItems: 1, uniqueItems: true })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('misfired'),
      actions: Type.Optional(
        Type.Array(Type.Union([Type.Literal('fire'), Type.Literal('skip')]), {
          minItems: 1,
          uniqueItems: true,
        }),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('consecutive-failures'), count: Type.Integer({ minimum: 2, maximum: 1_000 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('success-rate'),
      // `minimum`, not `exclusiveMinimum: 0`: the API's document is OpenAPI 3.0, where
      // exclusiveMinimum is a flag on minimum (schemathesis refused the numeric form).
      belowPercent: Type.Number({
        minimum: 0.1,
        maximum: 100,
        description: 'an occurrence when fewer than this share of the final outcomes in the window succeeded',
      }),
      windowMs: Type.Integer({
        minimum: 60_000,
        maximum: MAX_WINDOW_MS,
        description: 'the window, ending at each outcome',
      }),
      minRuns: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 100_000,
          description: 'judge only windows with at least this many outcomes (default 1)',
        }),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('duration-above'),
      thresholdMs: Type.Integer({
        minimum: 1,
        maximum: MAX_WINDOW_MS,
        description: 'an attempt that took longer',
      }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('lateness-above'),
      thresholdMs: Type.Integer({
        minimum: 1,
        maximum: MAX_WINDOW_MS,
        description: 'a scheduled attempt fired this much after its nominal instant',
      }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('no-scheduler'),
      graceMs: Type.Integer({
        minimum: 0,
        maximum: 86_400_000,
        description: 'how long the last known scheduler may be gone before it counts (a restart)',
      }),
    },
    { additionalProperties: false, description: 'cluster condition: scope must be all' },
  ),
  Type.Object(
    { kind: Type.Literal('scheduler-left') },
    { additionalProperties: false, description: 'cluster condition: scope must be all' },
  ),
  Type.Object(
    {
      kind: Type.Literal('consumer-lag'),
      consumer: Type.Union([Type.Literal('alerts'), Type.Literal('history')]),
      aboveRecords: Type.Integer({ minimum: 1, description: 'records on the topics not yet read' }),
    },
    { additionalProperties: false, description: 'cluster condition: scope must be all' },
  ),
  Type.Object(
    {
      kind: Type.Literal('dead-man'),
      graceMs: Type.Integer({
        minimum: 1_000,
        maximum: MAX_GRACE_MS,
        description: 'how long after its nominal instant a due occurrence must have succeeded',
      }),
    },
    { additionalProperties: false },
  ),
]);
export type AlertCondition = Static<typeof AlertConditionSchema>;
export type AlertConditionKind = AlertCondition['kind'];

/** Conditions about the cluster, not a task: their alerts name what they are about instead of a task. */
export const CLUSTER_CONDITIONS: ReadonlySet<AlertConditionKind> = new Set([
  'no-scheduler',
  'scheduler-left',
  'consumer-lag',
]);
export function isClusterCondition(condition: AlertCondition): boolean {
  return CLUSTER_CONDITIONS.has(condition.kind);
}

const Url = Type.String({ minLength: 1, maxLength: 2048 });
export const AlertChannelSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('webhook'),
      url: Url,
      secret: Type.Optional(
        Type.String({
          pattern: '^whsec_[A-Za-z0-9+/=]{16,200}$',
          description: 'Standard Webhooks signing secret (whsec_ + base64)',
        }),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('slack'), url: Url },
    { additionalProperties: false, description: 'a Slack incoming webhook: text plus blocks' },
  ),
  Type.Object(
    { kind: Type.Literal('teams'), url: Url },
    {
      additionalProperties: false,
      description:
        'Microsoft Teams: a Workflows "when a Teams webhook request is received" URL or an incoming webhook; gets a message with an Adaptive Card',
    },
  ),
  Type.Object(
    { kind: Type.Literal('google-chat'), url: Url },
    {
      additionalProperties: false,
      description: 'a Google Chat space incoming webhook: text plus a cardsV2 card',
    },
  ),
  Type.Object(
    {
      kind: Type.Literal('email'),
      to: Type.Array(Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$', maxLength: 320 }), {
        minItems: 1,
        maxItems: 50,
      }),
    },
    { additionalProperties: false },
  ),
]);
export type AlertChannel = Static<typeof AlertChannelSchema>;

/** Every kind of channel, in the order the schema lists them (delivery metrics and the API's delivery view name them). */
export const ALERT_CHANNEL_KINDS = ['webhook', 'slack', 'teams', 'google-chat', 'email'] as const;
export type AlertChannelKind = (typeof ALERT_CHANNEL_KINDS)[number];
// Fails to compile when the list and the schema's kinds differ, in either direction.
const channelKindsAreTheSchemas: [AlertChannelKind, AlertChannel['kind']] extends [
  AlertChannel['kind'],
  AlertChannelKind,
]
  ? true
  : never = true;
void channelKindsAreTheSchemas;

/**
 * A channel as a reader below admin sees it: a chat or webhook URL carries its credential in its
 * path or query (a Slack or Teams webhook URL is the credential), and a signing secret is one, so
 * they show only the URL's origin with the rest elided, and no secret. Email addresses stay.
 */
export function redactAlertChannel(channel: AlertChannel): AlertChannel {
  if (channel.kind === 'email') return channel;
  let origin: string;
  try {
    origin = new URL(channel.url).origin;
  } catch {
    origin = 'invalid-url';
  }
  return { kind: channel.kind, url: `${origin}/…` };
}

/** A stored rule with its channels redacted (see redactAlertChannel). */
export function redactAlertRule<R extends { channels: readonly AlertChannel[] }>(rule: R): R {
  return { ...rule, channels: rule.channels.map(redactAlertChannel) };
}

/** What a person writes. */
export const AlertRuleSpecSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.String({ maxLength: 2000, default: '' }),
    enabled: Type.Boolean({ default: true }),
    scope: AlertScopeSchema,
    condition: AlertConditionSchema,
    renotifyEveryMs: Type.Integer({
      minimum: 0,
      maximum: 30 * 86_400_000,
      default: 3_600_000,
      description: 'an open alert notifies again at most this often while its condition recurs; 0 never',
    }),
    channels: Type.Array(AlertChannelSchema, { maxItems: 20, default: [] }),
  },
  { additionalProperties: false },
);
export type AlertRuleSpec = Static<typeof AlertRuleSpecSchema>;

export const AlertRuleSchema = Type.Composite(
  [
    Type.Object({
      id: Type.String({ pattern: ALERT_RULE_ID_PATTERN }),
      createdAt: Type.String(),
      updatedAt: Type.String(),
      revision: Type.Integer({ minimum: 1 }),
    }),
    AlertRuleSpecSchema,
  ],
  { additionalProperties: false },
);
export type AlertRule = Static<typeof AlertRuleSchema>;

const specValidator = compileValidator(AlertRuleSpecSchema);
const ruleValidator = compileValidator(AlertRuleSchema);

/**
 * Untrusted input to a complete rule spec (defaults applied) or issues naming each bad
 * field. `checkUrl` is the deployment's allow-list for channel URLs (the same host list as
 * task targets): it names the reason a URL is refused, or nothing.
 */
export function parseAlertRuleSpec(
  input: unknown,
  checkUrl: (url: string) => string | undefined = () => undefined,
): Result<AlertRuleSpec> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return fail([{ field: '', message: 'a rule must be a JSON object' }]);
  const shaped = specValidator.parse(input);
  if (!shaped.ok) return shaped;
  const issues: FieldIssue[] = [];
  if (isClusterCondition(shaped.value.condition) && shaped.value.scope.kind !== 'all')
    issues.push({
      field: 'scope',
      message: `must be { "kind": "all" } for ${shaped.value.condition.kind}: it is about the cluster, not a task`,
    });
  for (const [index, channel] of shaped.value.channels.entries()) {
    if (channel.kind === 'email') continue;
    const field = `channels[${index}].url`;
    if (!isHttpUrl(channel.url)) {
      issues.push({ field, message: 'must be an absolute http:// or https:// URL' });
      continue;
    }
    const refused = checkUrl(channel.url);
    if (refused !== undefined) issues.push({ field, message: refused });
  }
  return issues.length === 0 ? shaped : fail(issues);
}

export function parseStoredAlertRule(input: unknown): Result<AlertRule> {
  return ruleValidator.parse(input);
}

export function isValidAlertRuleId(id: string): boolean {
  return new RegExp(ALERT_RULE_ID_PATTERN).test(id);
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Whether a rule's scope takes in a task (its id and its current labels). */
export function ruleCovers(
  scope: AlertScope,
  taskId: string,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'task':
      return scope.taskId === taskId;
    case 'label': {
      const at = scope.selector.indexOf(':');
      const key = scope.selector.slice(0, at);
      return labels !== undefined && labels[key] === scope.selector.slice(at + 1);
    }
  }
}
