import { type Static, type TSchema } from '@sinclair/typebox';
import { type Validator, compileValidator } from '@nono/domain';
import { type FastifySchemaCompiler } from 'fastify';
import { ApiError, ApiErrorCode } from './errors.js';

/**
 * Validates params and query strings with TypeBox instead of Ajv: the same library the
 * domain uses, so errors come out as the same FieldIssue list, and nothing is silently
 * stripped (Fastify's Ajv defaults remove unknown properties; we reject them).
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  if ((schema as { 'x-validated-by'?: unknown })['x-validated-by'] === 'handler') return () => true;
  const validator = compileValidator(schema);
  const convert = httpPart === 'querystring' || httpPart === 'params';
  return (data: unknown) => {
    const input = convert ? convertParameters(schema, data ?? {}) : data;
    const result = validator.parse(input);
    if (result.ok) return { value: result.value };
    return { error: new ApiError(ApiErrorCode.InvalidInput, undefined, result.issues) };
  };
};

/** For bodies the handler checks itself: an absent body is an empty object. */
const compiled = new WeakMap<TSchema, Validator<TSchema>>();

export function parseBody<S extends TSchema>(schema: S, body: unknown): Static<S> {
  const validator = compiled.get(schema) ?? compileValidator(schema);
  compiled.set(schema, validator);
  const result = validator.parse(body ?? {});
  if (!result.ok) throw new ApiError(ApiErrorCode.InvalidInput, undefined, result.issues);
  return result.value;
}

/**
 * Query and path values arrive as strings: turns a number-typed one into a number only
 * when it is written as a number, and a boolean-typed one only from `true`/`false`.
 * (TypeBox's Value.Convert also reads `true` as 1, so `?limit=true` passed as a limit.)
 * Anything else stays a string, for the validator to refuse naming the field.
 */
export function convertParameters(schema: TSchema, data: unknown): unknown {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  if (properties === undefined || typeof data !== 'object' || data === null || Array.isArray(data))
    return data;
  return Object.fromEntries(
    Object.entries(data as Record<string, unknown>).map(([name, value]) => {
      const type = properties[name]?.type;
      if (typeof value !== 'string') return [name, value];
      if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value))
        return [name, Number(value)];
      if (type === 'boolean' && (value === 'true' || value === 'false')) return [name, value === 'true'];
      return [name, value];
    }),
  );
}
