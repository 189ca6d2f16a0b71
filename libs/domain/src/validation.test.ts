import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { compileValidator } from './validation.js';

const schema = Type.Object(
  {
    tags: Type.Array(Type.String(), { default: [] }),
    labels: Type.Record(Type.String(), Type.String(), { default: {} }),
    nested: Type.Object({ items: Type.Array(Type.Integer(), { default: [] }) }, { default: {} }),
  },
  { additionalProperties: false },
);
const validator = compileValidator(schema);

describe('compileValidator: defaults fill what is missing, never a value of the wrong kind', () => {
  it('fills every absent field with its default', () => {
    expect(validator.parse({})).toEqual({ ok: true, value: { tags: [], labels: {}, nested: { items: [] } } });
  });

  // TypeBox's Value.Default merges a present object into an object default with
  // Object.assign, and arrays are objects to it: `{}` became `[]` and `[]` became `{}`
  // (schemathesis found `"channels": {}` stored as an alert rule without channels).
  it.each([
    ['an object where an array is expected', { tags: {} }, 'tags'],
    ['an object with keys where an array is expected', { tags: { a: 'x' } }, 'tags'],
    ['an array where an object is expected', { labels: ['x'] }, 'labels'],
    ['an empty array where an object is expected', { labels: [] }, 'labels'],
    ['a nested object where an array is expected', { nested: { items: {} } }, 'nested.items'],
  ])('refuses %s, naming the field', (_what, input, field) => {
    const result = validator.parse(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((issue) => issue.field)).toContain(field);
  });
});
