import { describe, expect, it } from 'vitest';
import { parseSilenceAlertBody } from './alert-api.js';
import { parseAlertRuleSpec } from './alert-rule.js';

describe('parseSilenceAlertBody', () => {
  it.each([
    [{ forMs: 60_000 }, { forMs: 60_000, note: '' }],
    [
      { until: '2030-01-01T00:00:00Z', note: 'upgrade' },
      { until: '2030-01-01T00:00:00Z', note: 'upgrade' },
    ],
  ])('takes %j', (input, value) => {
    expect(parseSilenceAlertBody(input)).toEqual({ ok: true, value });
  });

  it.each([
    [{}, 'forMs'],
    [undefined, 'forMs'],
    [{ forMs: 60_000, until: '2030-01-01T00:00:00Z' }, 'forMs'],
    [{ forMs: 5 }, 'forMs'],
    [{ until: '' }, 'until'],
    [{ until: 'tomorrow' }, 'until'],
    [{ forMs: 60_000, mute: true }, 'mute'],
  ])('refuses %j, naming %s', (input, field) => {
    const result = parseSilenceAlertBody(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((issue) => issue.field)).toContain(field);
  });
});

describe('parseAlertRuleSpec', () => {
  const rule = { name: 'r', scope: { kind: 'all' }, condition: { kind: 'failed' } };
  it('refuses channels given as an object, not a list (schemathesis found it stored as no channels)', () => {
    const result = parseAlertRuleSpec({ ...rule, channels: {} });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]?.field).toBe('channels');
  });

  it('takes a label selector whose value has a line break, as the schema documents (schemathesis found it refused)', () => {
    const result = parseAlertRuleSpec({ ...rule, scope: { kind: 'label', selector: 'team:pay\rments' } });
    expect(result.ok).toBe(true);
    const keyless = parseAlertRuleSpec({ ...rule, scope: { kind: 'label', selector: ':payments' } });
    expect(keyless.ok).toBe(false);
  });
});
