import { formatInstant } from '@nono/domain';
import { type AlertRow } from '../store/alert-store.js';

/** An alert as the API, the events' readers and the channels see it: instants in RFC 3339. */
export interface AlertView {
  readonly id: string;
  readonly ruleId: string;
  readonly ruleRevision: number;
  readonly taskId: string;
  readonly condition: string;
  readonly state: string;
  readonly summary: string;
  readonly executionId: string | null;
  readonly nominalTime: string | null;
  readonly openedAt: string;
  readonly resolvedAt: string | null;
  readonly resolveReason: string | null;
  readonly occurrences: number;
  readonly notifications: number;
  readonly lastNotifiedAt: string;
  readonly acknowledged: { readonly at: string; readonly by: string; readonly note: string } | null;
  readonly silencedUntil: string | null;
  readonly silence: { readonly by: string; readonly note: string } | null;
}

const instantOrNull = (ms: number | null): string | null => (ms === null ? null : formatInstant(ms));

export function alertView(row: AlertRow): AlertView {
  return {
    id: row.id,
    ruleId: row.ruleId,
    ruleRevision: row.ruleRevision,
    taskId: row.taskId,
    condition: row.condition,
    state: row.state,
    summary: row.summary,
    executionId: row.executionId,
    nominalTime: instantOrNull(row.nominalTime),
    openedAt: formatInstant(row.openedAt),
    resolvedAt: instantOrNull(row.resolvedAt),
    resolveReason: row.resolveReason,
    occurrences: row.occurrences,
    notifications: row.notifications,
    lastNotifiedAt: formatInstant(row.lastNotifiedAt),
    acknowledged:
      row.acknowledgedAt === null
        ? null
        : {
            at: formatInstant(row.acknowledgedAt),
            by: row.acknowledgedBy ?? '',
            note: row.acknowledgeNote ?? '',
          },
    silencedUntil: instantOrNull(row.silencedUntil),
    silence: row.silencedUntil === null ? null : { by: row.silencedBy ?? '', note: row.silenceNote ?? '' },
  };
}
