import { type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
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
    const input = convert ? Value.Convert(schema, data ?? {}) : data;
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
