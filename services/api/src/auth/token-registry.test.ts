import { describe, expect, it } from 'vitest';
import { roleAllows } from './roles.js';
import { authenticateToken, hashToken, parseTokenList } from './token-registry.js';

describe('tokens', () => {
  const entries = parseTokenList([`viewer:${hashToken('v')}`, `admin:${hashToken('a')}`], 'NONO_API_TOKENS');
  it.each([
    ['v', 'viewer'],
    ['a', 'admin'],
    ['x', undefined],
    ['', undefined],
  ])('token %j authenticates as %s', (token, role) => {
    expect(authenticateToken(entries, token)?.role).toBe(role);
  });
  it('names the actor by a hash prefix, never the token', () => {
    const principal = authenticateToken(entries, 'a');
    expect(principal?.actor).toEqual({ kind: 'token', id: `admin:${hashToken('a').slice(0, 12)}` });
  });
  it.each(['viewer', 'root:' + 'a'.repeat(64), 'admin:abc', 'admin:' + 'z'.repeat(64)])(
    'refuses the config item %j',
    (item) => {
      expect(() => parseTokenList([item], 'NONO_API_TOKENS')).toThrow(/NONO_API_TOKENS item 1/);
    },
  );
  it.each([
    ['viewer', 'viewer', true],
    ['viewer', 'operator', false],
    ['operator', 'viewer', true],
    ['operator', 'admin', false],
    ['admin', 'operator', true],
  ] as const)('%s may do what needs %s: %s', (held, needed, allowed) => {
    expect(roleAllows(held, needed)).toBe(allowed);
  });
});
