import { type FieldIssue, pointerToField } from '@nono/domain';
import { type FastifyError, type FastifyInstance } from 'fastify';
import { AlertsError, type AlertsErrorCode } from '../rules/alert-errors.js';

/**
 * RFC 9457 problem details: every error leaves as application/problem+json with a stable
 * `code` and, for bad input, the fields at fault; a 5xx never carries the internal message.
 */
const CATALOGUE: Readonly<Record<AlertsErrorCode, { status: number; title: string }>> = {
  NONO_INVALID_ALERT_RULE: { status: 422, title: 'The alert rule is not valid' },
  NONO_INVALID_INPUT: { status: 400, title: 'The request does not match the schema' },
  NONO_INVALID_SILENCE: { status: 422, title: 'The silence does not end in the future' },
  NONO_ALERT_RULE_NOT_FOUND: { status: 404, title: 'No such alert rule' },
  NONO_ALERT_RULE_EXISTS: { status: 409, title: 'An alert rule with this id already exists' },
  NONO_ALERT_NOT_FOUND: { status: 404, title: 'No such alert' },
  NONO_ALERT_NOT_OPEN: { status: 409, title: 'The alert is not open' },
  NONO_PRECONDITION_FAILED: { status: 412, title: 'If-Match does not match the current revision' },
  NONO_NOT_FOUND: { status: 404, title: 'No such resource' },
  NONO_INTERNAL: { status: 500, title: 'Internal error' },
};

export function statusOf(code: AlertsErrorCode): number {
  return CATALOGUE[code].status;
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type('application/problem+json')
      .send(
        body(
          'NONO_NOT_FOUND',
          `no route ${request.method} ${request.url.split('?')[0] ?? ''}`,
          [],
          request.url,
        ),
      ),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AlertsError)
      return reply
        .code(statusOf(error.code))
        .type('application/problem+json')
        .send(body(error.code, error.message, error.issues, request.url));
    if (error.validation !== undefined) {
      const issues: FieldIssue[] = error.validation.map((issue) => ({
        field: [
          error.validationContext === 'body' ? '' : (error.validationContext ?? ''),
          pointerToField(issue.instancePath),
        ]
          .filter((part) => part !== '')
          .join('.')
          .concat(issue.keyword === 'required' ? `.${String(issue.params['missingProperty'])}` : '')
          .replace(/^\./, ''),
        message: issue.message ?? 'is not valid',
      }));
      return reply
        .code(400)
        .type('application/problem+json')
        .send(
          body(
            'NONO_INVALID_INPUT',
            issues.map((i) => `${i.field}: ${i.message}`).join('; '),
            issues,
            request.url,
          ),
        );
    }
    if (typeof error.statusCode === 'number' && error.statusCode < 500)
      return reply
        .code(error.statusCode)
        .type('application/problem+json')
        .send(body('NONO_INVALID_INPUT', error.message, [], request.url));
    request.log.error({ err: error }, 'request failed');
    return reply
      .code(500)
      .type('application/problem+json')
      .send(body('NONO_INTERNAL', 'internal error', [], request.url));
  });
}

function body(
  code: AlertsErrorCode,
  detail: string,
  errors: readonly FieldIssue[],
  instance: string,
): object {
  const { status, title } = CATALOGUE[code];
  return {
    type: `https://nono.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`,
    title,
    status,
    detail,
    instance: instance.split('?')[0],
    code,
    ...(errors.length > 0 ? { errors } : {}),
  };
}
