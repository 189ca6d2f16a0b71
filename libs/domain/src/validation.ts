import { type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { type FieldIssue, type Result, fail, ok } from './errors.js';

/**
 * A compiled TypeBox schema that turns unknown input into a typed value or into a list
 * of issues naming each bad field. Compiled once per schema: events are validated on
 * hot paths (the projector checks tens of thousands a second).
 */
export interface Validator<S extends TSchema> {
  readonly schema: S;
  /** Applies schema defaults to a copy of `input`, then checks it. */
  parse(input: unknown, fieldPrefix?: string): Result<Static<S>>;
  /** Checks without defaults or copying: for values that should already be complete. */
  is(input: unknown): input is Static<S>;
}

export function compileValidator<S extends TSchema>(schema: S): Validator<S> {
  const check: TypeCheck<S> = TypeCompiler.Compile(schema);
  // Only a schema with an object or array default can reshape a value; the walk below is
  // skipped for the rest (event contracts on the hot path mostly have none).
  const mayReshape = hasStructuredDefault(schema, new WeakSet());
  return {
    schema,
    is: (input: unknown): input is Static<S> => check.Check(input),
    parse(input: unknown, fieldPrefix = ''): Result<Static<S>> {
      const value: unknown = Value.Default(schema, Value.Clone(input));
      const reshaped = mayReshape ? reshapedByDefault(input, value, '') : undefined;
      if (reshaped !== undefined)
        return fail([
          {
            field: joinField(fieldPrefix, pointerToField(reshaped.pointer)),
            message: reshaped.expectedArray ? 'must be an array' : 'must be an object',
          },
        ]);
      if (check.Check(value)) return ok(value);
      return fail(collectIssues(check, value, fieldPrefix));
    },
  };
}

function hasStructuredDefault(schema: unknown, seen: WeakSet<object>): boolean {
  if (typeof schema !== 'object' || schema === null || seen.has(schema)) return false;
  seen.add(schema);
  const { default: fallback } = schema as { default?: unknown };
  if (typeof fallback === 'object' && fallback !== null) return true;
  return Object.values(schema).some((inner) => hasStructuredDefault(inner, seen));
}

/**
 * Where applying defaults turned an array into an object or back. TypeBox's Value.Default
 * merges a present value into an object-typed default with Object.assign, and an array is
 * an object to it: `{}` given for an array defaulting to `[]` came out as `[]`, and `[]`
 * for a record defaulting to `{}` as `{}`, so a value of the wrong kind passed the check.
 */
function reshapedByDefault(
  input: unknown,
  defaulted: unknown,
  pointer: string,
): { pointer: string; expectedArray: boolean } | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  if (Array.isArray(input) !== Array.isArray(defaulted))
    return { pointer, expectedArray: Array.isArray(defaulted) };
  if (typeof defaulted !== 'object' || defaulted === null) return undefined;
  for (const [key, inner] of Object.entries(input)) {
    const found = reshapedByDefault(
      inner,
      (defaulted as Record<string, unknown>)[key],
      `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`,
    );
    if (found !== undefined) return found;
  }
  return undefined;
}

function collectIssues<S extends TSchema>(
  check: TypeCheck<S>,
  value: unknown,
  fieldPrefix: string,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  for (const error of check.Errors(value)) {
    const field = joinField(fieldPrefix, pointerToField(error.path));
    // TypeBox reports a union failure once per member; the first message per field is the useful one.
    if (seen.has(field)) continue;
    seen.add(field);
    issues.push({ field, message: describe(error.message, error.schema) });
    if (issues.length >= 20) break;
  }
  return issues;
}

function describe(message: string, schema: TSchema): string {
  if (message === 'Unexpected property') {
    const patterns = Object.keys((schema as { patternProperties?: object }).patternProperties ?? {});
    return patterns.length > 0
      ? `not an allowed key (keys must match ${patterns.join(' or ')})`
      : 'unknown field: not part of the schema';
  }
  const description = (schema as { description?: unknown }).description;
  return typeof description === 'string' ? `${message} (${description})` : message;
}

/** `/target/headers/x-a` → `target.headers.x-a`; array indexes stay as `[0]`. */
export function pointerToField(pointer: string): string {
  return pointer
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce(
      (field, segment) => (/^\d+$/.test(segment) ? `${field}[${segment}]` : joinField(field, segment)),
      '',
    );
}

export function joinField(prefix: string, field: string): string {
  if (prefix === '') return field;
  if (field === '') return prefix;
  return field.startsWith('[') ? `${prefix}${field}` : `${prefix}.${field}`;
}
