import { type Static, Type } from '@sinclair/typebox';
import { defineDocument } from './document.js';

/**
 * `/outbox/e-<seq>` (persistent-sequential): an audit event waiting to be published, written
 * by the API before the change it describes; `committed` says the writer saw the change succeed.
 * The event itself is checked against the event contracts by its reader (`parseEvent`).
 */
export const OutboxEntrySchema = Type.Object({
  event: Type.Unknown(),
  stagedAt: Type.Number({ description: "epoch ms when staged, by the API's clock" }),
  committed: Type.Boolean(),
});
export type OutboxEntryDocument = Static<typeof OutboxEntrySchema>;

export const outboxEntryDocument = defineDocument('outbox entry', OutboxEntrySchema);
