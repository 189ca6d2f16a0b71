import { type NotificationContent } from '../rules/alert-engine.js';

/**
 * What each kind of channel receives. The generic webhook gets the whole notification;
 * the Slack-compatible one an incoming-webhook message (text, plus blocks for clients that
 * render them); email a subject and a plain-text body.
 */
export function webhookPayload(content: NotificationContent): Record<string, unknown> {
  return {
    type: `nono.alert.${content.transition}`,
    idempotencyKey: content.idempotencyKey,
    at: content.at,
    rule: content.rule,
    alert: content.alert,
  };
}

export function headline(content: NotificationContent): string {
  const { alert } = content;
  const what =
    content.transition === 'resolved'
      ? `RESOLVED (${alert.resolveReason ?? 'cleared'})`
      : content.transition === 'renotified'
        ? `STILL OPEN (${alert.occurrences} occurrences)`
        : 'OPEN';
  return `[nono] ${what}: ${content.rule.name} on task ${alert.taskId}`;
}

export function slackPayload(content: NotificationContent): Record<string, unknown> {
  const text = `${headline(content)}\n${content.alert.summary}`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${headline(content)}*\n${content.alert.summary}` } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `alert ${content.alert.id} · condition ${content.alert.condition} · opened ${content.alert.openedAt}`,
          },
        ],
      },
    ],
  };
}

export function emailMessage(content: NotificationContent): { subject: string; text: string } {
  const { alert } = content;
  const lines = [
    alert.summary,
    '',
    `rule:       ${content.rule.name} (${content.rule.id})`,
    `task:       ${alert.taskId}`,
    `condition:  ${alert.condition}`,
    `state:      ${alert.state}`,
    `opened:     ${alert.openedAt}`,
    ...(alert.resolvedAt === null ? [] : [`resolved:   ${alert.resolvedAt} (${alert.resolveReason ?? ''})`]),
    `alert id:   ${alert.id}`,
    `key:        ${content.idempotencyKey}`,
  ];
  return { subject: headline(content), text: `${lines.join('\n')}\n` };
}
