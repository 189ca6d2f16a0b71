import { type Static, Type } from '@sinclair/typebox';
import { MEMBER_ID_PATTERN, WorkerGroupSchema } from '@nono/domain';
import { defineDocument } from './document.js';

/** `/worker-groups/<name>`: a worker group's definition (`WorkerGroup` in libs/domain), written by the API. */
export const workerGroupDocument = defineDocument('worker group', WorkerGroupSchema);

/**
 * `/worker-leases/<group>/<memberId>`: a dynamic member of a group, written by the API when the
 * worker registers and rewritten at each heartbeat. The member is in the group until
 * `expiresAt`; a reader judges that by its own clock, so the clocks of the API and the
 * schedulers must agree to well within a lease (they do under NTP: milliseconds against seconds).
 */
export const MemberLeaseSchema = Type.Object({
  memberId: Type.String({ pattern: MEMBER_ID_PATTERN }),
  url: Type.String({ description: "the member's base URL" }),
  leaseMs: Type.Integer({ minimum: 1, description: "the group's leaseMs when it was last renewed" }),
  registeredAt: Type.String({ description: 'RFC 3339: when this member joined at this URL' }),
  renewedAt: Type.String({ description: 'RFC 3339: its last registration or heartbeat' }),
  expiresAt: Type.String({ description: 'RFC 3339: renewedAt + leaseMs; after it the member is gone' }),
  registeredBy: Type.String({ description: 'the actor id of the token that registered it' }),
});
export type MemberLeaseRecord = Static<typeof MemberLeaseSchema>;

export const memberLeaseDocument = defineDocument('member lease', MemberLeaseSchema);

/**
 * `/worker-health/<schedulerId>` (ephemeral, for the scheduler's ZooKeeper session): the members
 * this scheduler's health checks (its calls, and its probes where the group asks for them) have
 * taken out, and until when. Written when that changes
 * (at most once a second); read by the API to show each member's health.
 */
export const WorkerHealthSchema = Type.Object({
  schedulerId: Type.String(),
  updatedAt: Type.String({ description: 'RFC 3339' }),
  ejected: Type.Array(
    Type.Object({
      group: Type.String(),
      url: Type.String(),
      cause: Type.Optional(
        Type.Union([Type.Literal('passive'), Type.Literal('probe')], {
          description:
            'passive: failed calls (absent in records written before probes existed); probe: failed health probes',
        }),
      ),
      until: Type.String({
        description:
          'RFC 3339. passive: no calls before it, then one call tries the member again; probe: when the next probe decides (it stays out until probes pass)',
      }),
      failures: Type.Integer({
        minimum: 1,
        description: 'consecutive failures (calls or probes) that took it out',
      }),
      lastError: Type.String(),
    }),
  ),
});
export type WorkerHealthRecord = Static<typeof WorkerHealthSchema>;

export const workerHealthDocument = defineDocument('worker health', WorkerHealthSchema);
