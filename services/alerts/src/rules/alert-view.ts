import { type AlertView, formatInstant } from '@nono/domain';
import { type AlertRow } from '../store/alert-store.js';

export type { AlertView } from '@nono/domain';

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
