import { describe, expect, it } from 'vitest';
import { createTask, parseTaskSpec } from './task.js';
import { checkTriggerParameters, fixedBodyWithParameters } from './trigger-parameters.js';

const NOW = Date.parse('2026-12-01T00:00:00Z');

function task(target: Record<string, unknown>) {
  const spec = parseTaskSpec(
    {
      name: 't',
      schedule: { kind: 'interval', everyMs: 1000 },
      target: { url: 'http://127.0.0.1/', ...target },
    },
    NOW,
  );
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  return createTask('t', spec.value, NOW);
}

describe('trigger parameters', () => {
  it('merge into a fixed JSON-object body, key by key over its own', () => {
    expect(fixedBodyWithParameters('{"a":1,"b":2}', { b: 3, c: [4] })).toBe('{"a":1,"b":3,"c":[4]}');
    expect(fixedBodyWithParameters('[1]', { a: 1 })).toBeUndefined();
    expect(fixedBodyWithParameters('plain text', { a: 1 })).toBeUndefined();
  });

  it.each([
    ['a default body takes them', {}, { a: 1 }, undefined],
    ['a JSON-object body takes them', { body: '{"x":1}' }, { a: 1 }, undefined],
    ['a GET target sends no body', { method: 'GET' }, { a: 1 }, /GET/],
    ['a fixed body that is not an object', { body: 'run' }, { a: 1 }, /not a JSON object/],
    ['more than 8 KiB', {}, { a: 'x'.repeat(8_200) }, /at most 8192/],
  ])('%s', (_what, target, parameters, refusal) => {
    const checked = checkTriggerParameters(task(target), parameters);
    if (refusal === undefined) expect(checked.ok).toBe(true);
    else {
      expect(checked.ok).toBe(false);
      if (!checked.ok) {
        expect(checked.issues[0]?.field).toBe('parameters');
        expect(checked.issues[0]?.message).toMatch(refusal);
      }
    }
  });
});
