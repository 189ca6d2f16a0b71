import { type Static, Type } from '@sinclair/typebox';
import { ALERT_CHANNEL_KINDS, ALERT_RULE_ID_PATTERN, AlertRuleSchema } from './alert-rule.js';
import { type Result, fail, ok } from './errors.js';
import { AlertConditionKindSchema } from './events.js';
import { INSTANT_PATTERN } from './history-query.js';
import { compileValidator } from './validation.js';

/**
 * The alerts service's HTTP contract: what its routes take and answer. The service
 * validates with these schemas and types its answers with them; the nono API checks the
 * requests it forwards and documents the answers with the very same objects, so the
 * OpenAPI document says exactly what the service enforces and sends.
 */

const NullableInstant = Type.Union([Type.String({ description: 'RFC 3339 UTC instant' }), Type.Null()]);

export const AlertStateSchema = Type.Union([Type.Literal('open'), Type.Literal('resolved')]);
export const AlertResolveReasonSchema = Type.Union([
  Type.Literal('cleared'),
  Type.Literal('rule-changed'),
  Type.Literal('rule-deleted'),
  Type.Literal('task-deleted'),
]);
export type AlertResolveReason = Static<typeof AlertResolveReasonSchema>;

/** An alert as the API, the channels and the UI see it: instants in RFC 3339. */
export const AlertSchema = Type.Object(
  {
    id: Type.String({ description: 'derived from the rule, the task and the occurrence that opened it' }),
    ruleId: Type.String(),
    ruleRevision: Type.Integer({ minimum: 1 }),
    taskId: Type.String(),
    condition: AlertConditionKindSchema,
    state: AlertStateSchema,
    summary: Type.String(),
    executionId: Type.Union([Type.String(), Type.Null()]),
    nominalTime: NullableInstant,
    openedAt: Type.String({ description: 'RFC 3339 UTC instant' }),
    resolvedAt: NullableInstant,
    resolveReason: Type.Union([AlertResolveReasonSchema, Type.Null()]),
    occurrences: Type.Integer({ minimum: 1, description: 'times the condition held while open' }),
    notifications: Type.Integer({ minimum: 1, description: 'notifications decided so far' }),
    lastNotifiedAt: Type.String({ description: 'RFC 3339 UTC instant' }),
    acknowledged: Type.Union([
      Type.Object(
        { at: Type.String(), by: Type.String(), note: Type.String() },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    silencedUntil: NullableInstant,
    silence: Type.Union([
      Type.Object({ by: Type.String(), note: Type.String() }, { additionalProperties: false }),
      Type.Null(),
    ]),
  },
  { additionalProperties: false },
);
export type AlertView = Static<typeof AlertSchema>;

export const AlertDeliverySchema = Type.Object(
  {
    idempotencyKey: Type.String(),
    channel: Type.Union(ALERT_CHANNEL_KINDS.map((kind) => Type.Literal(kind))),
    state: Type.Union([Type.Literal('pending'), Type.Literal('sent'), Type.Literal('failed')]),
    attempts: Type.Integer({ minimum: 0 }),
    lastError: Type.Union([Type.String(), Type.Null()]),
    sentAt: NullableInstant,
  },
  { additionalProperties: false },
);
export type AlertDelivery = Static<typeof AlertDeliverySchema>;

export const AlertDetailSchema = Type.Composite(
  [AlertSchema, Type.Object({ deliveries: Type.Array(AlertDeliverySchema) })],
  { additionalProperties: false },
);
export type AlertDetail = Static<typeof AlertDetailSchema>;

export const AlertListSchema = Type.Object(
  { alerts: Type.Array(AlertSchema) },
  { additionalProperties: false, description: 'newest first' },
);
export const AlertRuleListSchema = Type.Object(
  { rules: Type.Array(AlertRuleSchema) },
  { additionalProperties: false, description: 'in id order' },
);

export const AlertRuleIdParamsSchema = Type.Object(
  { id: Type.String({ pattern: ALERT_RULE_ID_PATTERN, description: 'alert rule id' }) },
  { additionalProperties: false },
);
export const AlertIdParamsSchema = Type.Object(
  { id: Type.String({ pattern: '^[0-9a-f-]{36}$', description: 'alert id (a UUID)' }) },
  { additionalProperties: false },
);

export const AlertListQuerySchema = Type.Object(
  {
    state: Type.Optional(
      Type.Union([Type.Literal('open'), Type.Literal('resolved'), Type.Literal('all')], {
        description: 'open by default',
      }),
    ),
    taskId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    ruleId: Type.Optional(Type.String({ pattern: ALERT_RULE_ID_PATTERN })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: '100 by default' })),
  },
  { additionalProperties: false },
);
export type AlertListQuery = Static<typeof AlertListQuerySchema>;

export const AckAlertBodySchema = Type.Object(
  { note: Type.String({ minLength: 1, maxLength: 2000, description: 'why, for the other operators' }) },
  { additionalProperties: false },
);

const SILENCE_MAX_MS = 30 * 86_400_000;
const SilenceNote = Type.Optional(Type.String({ maxLength: 2000 }));
const SilenceFor = Type.Integer({
  minimum: 1_000,
  maximum: SILENCE_MAX_MS,
  description: 'silence for this long from now',
});
const SilenceUntil = Type.String({
  pattern: INSTANT_PATTERN,
  description: 'silence until this RFC 3339 instant (in the future)',
});

/** Exactly one of `forMs` and `until`: as documented, the two forms a silence takes. */
export const SilenceAlertBodySchema = Type.Union([
  Type.Object({ forMs: SilenceFor, note: SilenceNote }, { additionalProperties: false }),
  Type.Object({ until: SilenceUntil, note: SilenceNote }, { additionalProperties: false }),
]);

/** The same fields, flat: checked first so a bad field is named rather than "no union member matched". */
const silenceFields = compileValidator(
  Type.Object(
    { forMs: Type.Optional(SilenceFor), until: Type.Optional(SilenceUntil), note: SilenceNote },
    { additionalProperties: false },
  ),
);

export type SilenceAlertBody =
  { readonly forMs: number; readonly note: string } | { readonly until: string; readonly note: string };

/** A silence request's shape (not yet whether `until` is in the future: that needs the clock). */
export function parseSilenceAlertBody(input: unknown): Result<SilenceAlertBody> {
  const shaped = silenceFields.parse(input ?? {});
  if (!shaped.ok) return shaped;
  const { forMs, until, note = '' } = shaped.value;
  if (forMs !== undefined && until === undefined) return ok({ forMs, note });
  if (until !== undefined && forMs === undefined) return ok({ until, note });
  return fail([{ field: 'forMs', message: 'give exactly one of forMs and until' }]);
}
