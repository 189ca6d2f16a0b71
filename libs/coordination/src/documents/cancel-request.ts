import { type Static, Type } from '@sinclair/typebox';
import { ActorSchema } from '@nono/domain';
import { defineDocument } from './document.js';

/**
 * `/cancels/<taskId>@<executionId>`: an operator's request to stop a running execution, written
 * by the API, carried out and deleted by the scheduler that owns the task.
 */
export const CancelRequestSchema = Type.Object({
  actor: ActorSchema,
  note: Type.Optional(Type.String({ maxLength: 500 })),
  requestedAt: Type.String({ description: 'ISO 8601' }),
});
export type CancelRequest = Static<typeof CancelRequestSchema>;

export const cancelRequestDocument = defineDocument('cancel request', CancelRequestSchema);
