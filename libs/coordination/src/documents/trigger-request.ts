import { type Static, Type } from '@sinclair/typebox';
import { TriggerParametersSchema } from '@nono/domain';
import { defineDocument } from './document.js';

/** `/triggers/<taskId>@<requestId>`: a manual trigger request, written by the API, deleted by the scheduler that fired it. */
export const TriggerRequestSchema = Type.Object({
  requestId: Type.String(),
  actor: Type.String(),
  requestedAt: Type.String({ description: "ISO 8601; the manual execution's nominal time" }),
  parameters: Type.Optional(TriggerParametersSchema),
});
export type TriggerRequest = Static<typeof TriggerRequestSchema>;

export const triggerRequestDocument = defineDocument('trigger request', TriggerRequestSchema);
