import { type Static, Type } from '@sinclair/typebox';
import { defineDocument } from './document.js';

/** `/schedulers/<id>` (ephemeral): a live scheduler. */
export const MemberInfoSchema = Type.Object({
  id: Type.String(),
  host: Type.String(),
  pid: Type.Integer(),
  version: Type.String(),
  startedAt: Type.String(),
  opsUrl: Type.Optional(Type.String()),
  incarnation: Type.Optional(
    Type.String({
      description:
        'the process behind the id (its open-executions incarnation): a restarted scheduler with the same id is another process',
    }),
  ),
});
export type MemberInfo = Static<typeof MemberInfoSchema>;

export const memberDocument = defineDocument('scheduler member', MemberInfoSchema);
