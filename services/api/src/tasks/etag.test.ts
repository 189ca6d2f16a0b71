import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { checkIfMatch } from './etag.js';

describe('If-Match', () => {
  it.each([
    [undefined, true],
    ['"3"', true],
    ['W/"3"', true],
    ['"1", "3"', true],
    ['*', true],
    ['"2"', false],
    ['3', false],
  ])('%j against revision 3 passes: %s', (header, passes) => {
    const run = () => checkIfMatch(header, 3);
    if (passes) expect(run).not.toThrow();
    else expect(run).toThrow(ApiError);
  });
});
