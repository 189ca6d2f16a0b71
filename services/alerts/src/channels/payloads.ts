import { type NotificationContent } from '../rules/alert-engine.js';

/**
 * What each kind of channel receives. The generic webhook gets the whole notification;
 * the chat ones a message in their own format, each with a plain text for clients that
 * render nothing richer (Slack: text plus blocks; Microsoft Teams: a message with an
 * Adaptive Card; Google Chat: text plus a cardsV2 card); email a subject and a plain-text
 * body. The chat messages carry the same facts as the email, from `alertFacts`.
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

/** The facts every message lists after the summary, as (label, value) pairs. */
export function alertFacts(content: NotificationContent): readonly (readonly [string, string])[] {
  const { alert } = content;
  return [
    ['rule', `${content.rule.name} (${content.rule.id})`],
    ['task', alert.taskId],
    ['condition', alert.condition],
    ['state', alert.state],
    ['opened', alert.openedAt],
    ...(alert.resolvedAt === null
      ? []
      : [['resolved', `${alert.resolvedAt} (${alert.resolveReason ?? ''})`] as const]),
    ['alert id', alert.id],
    ['key', content.idempotencyKey],
  ];
}

/**
 * A Microsoft Teams message: what a Workflows "when a Teams webhook request is received"
 * flow posts to a channel, and what an incoming webhook accepts (`type: message` with one
 * Adaptive Card attachment). Version 1.4 of the card format, which Teams renders on desktop,
 * web and mobile.
 */
export function teamsPayload(content: NotificationContent): Record<string, unknown> {
  return {
    type: 'message',
    summary: headline(content),
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: headline(content),
              weight: 'Bolder',
              size: 'Medium',
              wrap: true,
              color: content.transition === 'resolved' ? 'Good' : 'Attention',
            },
            { type: 'TextBlock', text: content.alert.summary, wrap: true },
            {
              type: 'FactSet',
              facts: alertFacts(content).map(([title, value]) => ({ title, value })),
            },
          ],
        },
      },
    ],
  };
}

/**
 * A Google Chat incoming-webhook message: `text` (what notifications and clients without
 * cards show) plus one cardsV2 card with the headline, the summary and the facts.
 */
export function googleChatPayload(content: NotificationContent): Record<string, unknown> {
  return {
    text: `${headline(content)}\n${content.alert.summary}`,
    cardsV2: [
      {
        cardId: `nono-alert-${content.alert.id}`,
        card: {
          header: { title: headline(content), subtitle: `condition ${content.alert.condition}` },
          sections: [
            {
              widgets: [
                { textParagraph: { text: content.alert.summary } },
                ...alertFacts(content).map(([topLabel, text]) => ({ decoratedText: { topLabel, text } })),
              ],
            },
          ],
        },
      },
    ],
  };
}

export function emailMessage(content: NotificationContent): { subject: string; text: string } {
  const lines = [
    content.alert.summary,
    '',
    ...alertFacts(content).map(([label, value]) => `${`${label}:`.padEnd(12)}${value}`),
  ];
  return { subject: headline(content), text: `${lines.join('\n')}\n` };
}
