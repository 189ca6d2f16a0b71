import { type AlertRule, type AlertScope, parseAlertRuleSpec, ruleCovers } from '@nono/domain';
import { describe, expect, it } from 'vitest';
import { RuleIndex } from './rule-index.js';

function rule(id: string, scope: AlertScope): { rule: AlertRule; createdAt: number } {
  const spec = parseAlertRuleSpec({ name: id, scope, condition: { kind: 'failed' } });
  if (!spec.ok) throw new TypeError(JSON.stringify(spec.issues));
  return { rule: { id, createdAt: '', updatedAt: '', revision: 1, ...spec.value }, createdAt: 0 };
}

const RULES = [
  rule('a-all', { kind: 'all' }),
  rule('b-pay', { kind: 'task', taskId: 'pay' }),
  rule('c-team', { kind: 'label', selector: 'team:payments' }),
  rule('d-ship', { kind: 'task', taskId: 'ship' }),
  rule('e-tier', { kind: 'label', selector: 'tier:gold:plus' }),
  rule('f-team', { kind: 'label', selector: 'team:logistics' }),
  rule('g-all', { kind: 'all' }),
  rule('h-pay', { kind: 'task', taskId: 'pay' }),
];

describe('RuleIndex', () => {
  it.each<[string, Record<string, string> | undefined]>([
    ['pay', { team: 'payments' }],
    ['pay', undefined],
    ['ship', { team: 'logistics', tier: 'gold:plus' }],
    ['ship', { tier: 'gold' }],
    ['other', { team: 'payments', tier: 'gold:plus' }],
    ['other', {}],
  ])('takes in for %s %j exactly the rules ruleCovers takes in, in the rules order', (taskId, labels) => {
    const index = new RuleIndex(RULES);
    expect(index.covering(taskId, labels).map((r) => r.rule.id)).toEqual(
      RULES.filter((r) => ruleCovers(r.rule.scope, taskId, labels)).map((r) => r.rule.id),
    );
  });

  it('answers nothing without rules', () => {
    expect(new RuleIndex([]).covering('pay', { team: 'payments' })).toEqual([]);
  });
});
