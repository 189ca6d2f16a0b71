import { type Static, Type } from '@sinclair/typebox';

/**
 * Why a due instant was not called. Its own module because both the event contracts and the
 * alert rules (which filter on it) need it, and each of those imports the other's schemas.
 */
export const SkipReasonSchema = Type.Union([
  Type.Literal('overlap'),
  Type.Literal('paused'),
  Type.Literal('misfire-policy'),
  Type.Literal('catch-up-window'),
  Type.Literal('max-runs'),
  Type.Literal('deleted'),
  Type.Literal('calendar'),
]);

export type SkipReason = Static<typeof SkipReasonSchema>;
