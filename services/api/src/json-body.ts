import { type FastifyInstance } from 'fastify';
import { ApiError, ApiErrorCode } from './errors.js';

/**
 * The request bodies the API reads: JSON and merge-patch JSON, nothing else. Fastify's own
 * `text/plain` parser is removed, so a text body is a 415 like any other type (it used to be
 * read as a string and fail validation with a 400).
 *
 * JSON is parsed by Fastify's secure parser, which refuses a `__proto__` key or a
 * `constructor.prototype` (prototype poisoning); its error only says the body is not valid JSON,
 * so on that path the body is read again to tell the two apart and name the key. `curl -X POST
 * -H 'content-type: application/json'` with no body is a common way to pause or trigger, so an
 * empty JSON body is read as absent instead of refused.
 */
export function registerJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  for (const type of ['application/json', 'application/merge-patch+json']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (request, body, done) => {
      const text = body.toString();
      if (text === '') {
        done(null, undefined);
        return;
      }
      void parseJson(request, text, (error, value) => {
        const key = error === null ? undefined : prototypeKeyIn(text);
        if (key === undefined) done(error, value);
        else
          done(
            // 422, not 400: the body is valid JSON (and may fit the schema); a key is refused.
            new ApiError(
              ApiErrorCode.ForbiddenJsonKey,
              `Body has a ${JSON.stringify(key.name)} key at ${key.field}: refused, because such a key can change the prototype of the objects built from the body (prototype poisoning)`,
              [{ field: key.field, message: `a ${JSON.stringify(key.name)} key is not allowed` }],
            ),
            undefined,
          );
      });
    });
  }
}

/** Where the first `__proto__` key, or `constructor` holding a `prototype`, is in valid JSON text. */
export function prototypeKeyIn(text: string): { field: string; name: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const walk = (value: unknown, path: string): { field: string; name: string } | undefined => {
    if (typeof value !== 'object' || value === null) return undefined;
    for (const [key, child] of Object.entries(value)) {
      const field = path === '' ? key : `${path}.${key}`;
      if (key === '__proto__') return { field, name: key };
      if (key === 'constructor' && typeof child === 'object' && child !== null && 'prototype' in child)
        return { field: `${field}.prototype`, name: 'constructor.prototype' };
      const inner = walk(child, field);
      if (inner !== undefined) return inner;
    }
    return undefined;
  };
  return walk(parsed, '');
}
