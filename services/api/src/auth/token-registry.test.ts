import { describe, expect, it } from 'vitest';
import { roleAllows } from './roles.js';
import { type TokenEntry, checkToken, hashToken, parseTokenList } from './token-registry.js';

describe('tokens', () => {
  const entries = parseTokenList([`viewer:${hashToken('v')}`, `admin:${hashToken('a')}`], 'NONO_API_TOKENS');
  const NOW = Date.parse('2026-12-01T00:00:00Z');
  const named: TokenEntry[] = [
    { name: 'ci-deploy', role: 'operator', sha256: Buffer.from(hashToken('n'), 'hex') },
    { name: 'temp', role: 'admin', sha256: Buffer.from(hashToken('t'), 'hex'), expiresAt: NOW + 1_000 },
  ];
  const roleOf = (token: string, now = NOW) => {
    const check = checkToken([entries, named], token, now);
    return check.kind === 'valid' ? check.principal.role : check.kind;
  };
  it.each([
    ['v', 'viewer'],
    ['a', 'admin'],
    ['n', 'operator'],
    ['t', 'admin'],
    ['x', 'unknown'],
    ['', 'unknown'],
  ])('token %j authenticates as %s', (token, role) => {
    expect(roleOf(token)).toBe(role);
  });
  it('names an environment token by a hash prefix, never the token', () => {
    const check = checkToken([entries], 'a', NOW);
    expect(check).toEqual({
      kind: 'valid',
      principal: { role: 'admin', actor: { kind: 'token', id: `admin:${hashToken('a').slice(0, 12)}` } },
    });
  });
  it('names a named token by its name', () => {
    const check = checkToken([entries, named], 'n', NOW);
    expect(check).toEqual({
      kind: 'valid',
      principal: { role: 'operator', actor: { kind: 'token', id: 'ci-deploy' }, tokenName: 'ci-deploy' },
    });
  });
  it.each([
    [NOW + 999, 'admin'],
    [NOW + 1_000, 'expired'],
    [NOW + 86_400_000, 'expired'],
  ])('a token expiring at NOW+1s, presented at %i, is %s', (now, expected) => {
    expect(roleOf('t', now)).toBe(expected);
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
