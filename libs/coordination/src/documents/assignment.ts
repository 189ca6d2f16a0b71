import { type Static, Type } from '@sinclair/typebox';
import { defineDocument } from './document.js';

/** `/assignment`: which scheduler owns which task, written by the leader only. */
export const AssignmentDocumentSchema = Type.Object({
  generation: Type.Integer({ minimum: 0 }),
  members: Type.Array(Type.String()),
  owners: Type.Record(Type.String(), Type.Array(Type.String())),
  updatedAt: Type.Optional(Type.String({ description: 'when the leader wrote it (ISO 8601)' })),
  writtenBy: Type.Optional(Type.String({ description: 'the leader that wrote it' })),
});
export type AssignmentDocument = Static<typeof AssignmentDocumentSchema>;

export const assignmentDocument = defineDocument('assignment', AssignmentDocumentSchema);
