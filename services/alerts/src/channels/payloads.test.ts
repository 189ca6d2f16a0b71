import { describe, expect, it } from 'vitest';
import { type NotificationContent } from '../rules/alert-engine.js';
import { emailMessage, googleChatPayload, teamsPayload } from './payloads.js';

const OPENED: NotificationContent = {
  idempotencyKey: 'pay-fails:pay:0d6f4c2e-8f1a-5b7c-9d3e-2a1b4c5d6e7f:opened',
  transition: 'opened',
  at: '2026-12-01T10:00:00.000Z',
  rule: { id: 'pay-fails', name: 'payments fail' },
  alert: {
    id: '0d6f4c2e-8f1a-5b7c-9d3e-2a1b4c5d6e7f',
    ruleId: 'pay-fails',
    ruleRevision: 1,
    taskId: 'pay',
    condition: 'failed',
    state: 'open',
    summary: 'pay at 2026-12-01T10:00:00.000Z failed after attempt 1: HTTP 500',
    executionId: 'e1',
    nominalTime: '2026-12-01T10:00:00.000Z',
    openedAt: '2026-12-01T10:00:00.000Z',
    resolvedAt: null,
    resolveReason: null,
    occurrences: 1,
    notifications: 1,
    lastNotifiedAt: '2026-12-01T10:00:00.000Z',
    acknowledged: null,
    silencedUntil: null,
    silence: null,
  },
};
const RESOLVED: NotificationContent = {
  ...OPENED,
  idempotencyKey: OPENED.idempotencyKey.replace(':opened', ':resolved'),
  transition: 'resolved',
  alert: {
    ...OPENED.alert,
    state: 'resolved',
    resolvedAt: '2026-12-01T10:05:00.000Z',
    resolveReason: 'cleared',
  },
};

describe('channel payloads', () => {
  it('Microsoft Teams: a message with one Adaptive Card attachment holding the headline, the summary and the facts', () => {
    const payload = teamsPayload(OPENED);
    expect(payload).toMatchObject({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              { type: 'TextBlock', text: '[nono] OPEN: payments fail on task pay', color: 'Attention' },
              { type: 'TextBlock', text: OPENED.alert.summary, wrap: true },
              { type: 'FactSet' },
            ],
          },
        },
      ],
    });
    const facts = JSON.stringify(payload);
    for (const value of [
      'payments fail (pay-fails)',
      'pay',
      'failed',
      OPENED.alert.id,
      OPENED.idempotencyKey,
    ])
      expect(facts).toContain(JSON.stringify(value));
    expect(JSON.stringify(teamsPayload(RESOLVED))).toContain('"color":"Good"');
  });

  it('Google Chat: text plus one cardsV2 card with a header, the summary and a decorated line per fact', () => {
    const payload = googleChatPayload(RESOLVED);
    expect(payload).toMatchObject({
      text: `[nono] RESOLVED (cleared): payments fail on task pay\n${OPENED.alert.summary}`,
      cardsV2: [
        {
          cardId: `nono-alert-${OPENED.alert.id}`,
          card: {
            header: {
              title: '[nono] RESOLVED (cleared): payments fail on task pay',
              subtitle: 'condition failed',
            },
            sections: [
              { widgets: expect.arrayContaining([{ textParagraph: { text: OPENED.alert.summary } }]) },
            ],
          },
        },
      ],
    });
    const widgets = (payload as { cardsV2: { card: { sections: { widgets: unknown[] }[] } }[] }).cardsV2[0]
      ?.card.sections[0]?.widgets;
    expect(widgets).toContainEqual({
      decoratedText: { topLabel: 'resolved', text: '2026-12-01T10:05:00.000Z (cleared)' },
    });
  });

  it('email: the subject is the headline and the body lists the same facts, aligned', () => {
    expect(emailMessage(OPENED)).toEqual({
      subject: '[nono] OPEN: payments fail on task pay',
      text: [
        OPENED.alert.summary,
        '',
        'rule:       payments fail (pay-fails)',
        'task:       pay',
        'condition:  failed',
        'state:      open',
        'opened:     2026-12-01T10:00:00.000Z',
        `alert id:   ${OPENED.alert.id}`,
        `key:        ${OPENED.idempotencyKey}`,
        '',
      ].join('\n'),
    });
  });
});
