import { type FieldIssue } from '@nono/domain';

/** The alerts service's error catalogue: stable codes, mapped to HTTP statuses by http/problem.ts. */
export const AlertsErrorCode = {
  InvalidRule: 'NONO_INVALID_ALERT_RULE',
  InvalidInput: 'NONO_INVALID_INPUT',
  InvalidSilence: 'NONO_INVALID_SILENCE',
  RuleNotFound: 'NONO_ALERT_RULE_NOT_FOUND',
  RuleExists: 'NONO_ALERT_RULE_EXISTS',
  AlertNotFound: 'NONO_ALERT_NOT_FOUND',
  AlertNotOpen: 'NONO_ALERT_NOT_OPEN',
  PreconditionFailed: 'NONO_PRECONDITION_FAILED',
  NotFound: 'NONO_NOT_FOUND',
  Internal: 'NONO_INTERNAL',
} as const;
export type AlertsErrorCode = (typeof AlertsErrorCode)[keyof typeof AlertsErrorCode];

export class AlertsError extends Error {
  readonly code: AlertsErrorCode;
  readonly issues: readonly FieldIssue[];

  constructor(code: AlertsErrorCode, message: string, issues: readonly FieldIssue[] = []) {
    super(message);
    this.name = 'AlertsError';
    this.code = code;
    this.issues = issues;
  }
}
