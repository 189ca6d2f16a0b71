import { ExitCode } from '@nono/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, runNono, startApiProcess } from '../support/api.js';
import { eventually, isolate } from '../support/fixtures.js';

const ENV_TOKENS = { viewer: 'viewer-token-tokens-cli', admin: 'admin-token-tokens-cli' };

/**
 * `nono tokens …` against a real API process on a real ZooKeeper: an admin (environment
 * token) creates a named token, the token works and its last use shows, viewers and
 * operators cannot manage tokens, and a revoked token is refused at once.
 */
describe('named tokens through the CLI and a real API', () => {
  let api: ApiProcess;

  beforeAll(async () => {
    api = await startApiProcess(await isolate('tokens-cli'), ENV_TOKENS);
  });
  afterAll(async () => {
    await api?.kill('SIGTERM');
  });

  const nono = (token: string, ...argv: string[]) => runNono(api.url, token, argv);

  it('create → use → last use listed → revoke → refused', async () => {
    const made = await nono(ENV_TOKENS.admin, 'tokens', 'create', 'deployer', '--role', 'operator');
    expect(made.code, made.stderr).toBe(ExitCode.Ok);
    const secret = /^(nono_\S+)$/m.exec(made.stdout)?.[1];
    expect(secret, made.stdout).toBeDefined();
    const token = secret ?? '';

    expect((await nono(token, 'tasks', 'ls')).code).toBe(ExitCode.Ok);
    const listed = await eventually(
      async () => {
        const run = await nono(ENV_TOKENS.admin, '--json', 'tokens', 'ls');
        const rows = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
        return rows.find((row) => row['name'] === 'deployer' && row['lastUsedAt'] !== null);
      },
      10_000,
      'the last use to be listed',
    );
    expect(listed).toMatchObject({ role: 'operator', expiresAt: null, expired: false });
    expect(JSON.stringify(listed)).not.toContain(token);
    const table = await nono(ENV_TOKENS.admin, 'tokens', 'ls');
    expect(table.stdout).toMatch(/^deployer\s+operator\s/m);

    // An operator, named or not, and a viewer cannot manage tokens.
    for (const holder of [token, ENV_TOKENS.viewer]) {
      expect((await nono(holder, 'tokens', 'ls')).code).toBe(ExitCode.Auth);
      expect((await nono(holder, 'tokens', 'create', 'x', '--role', 'admin')).code).toBe(ExitCode.Auth);
      expect((await nono(holder, 'tokens', 'revoke', 'deployer')).code).toBe(ExitCode.Auth);
    }

    const revoked = await nono(ENV_TOKENS.admin, 'tokens', 'revoke', 'deployer');
    expect(revoked).toMatchObject({ code: ExitCode.Ok, stdout: 'revoked token deployer\n' });
    const refused = await nono(token, 'tasks', 'ls');
    expect(refused.code).toBe(ExitCode.Auth);
    expect(refused.stderr).toContain('NONO_UNAUTHENTICATED');
  });

  it('says what is wrong: a past expiry, an unknown role, an unknown name', async () => {
    const past = await nono(
      ENV_TOKENS.admin,
      'tokens',
      'create',
      'old',
      '--role',
      'viewer',
      '--expires',
      '2020-01-01T00:00:00Z',
    );
    expect(past.code).toBe(ExitCode.Usage);
    expect(past.stderr).toContain('expiresAt: must be in the future');
    const role = await nono(ENV_TOKENS.admin, 'tokens', 'create', 'x', '--role', 'root');
    expect(role).toMatchObject({ code: ExitCode.Usage });
    expect(role.stderr).toContain('--role "root" is not valid');
    expect((await nono(ENV_TOKENS.admin, 'tokens', 'revoke', 'nobody')).code).toBe(ExitCode.NotFound);
    const expiring = await nono(
      ENV_TOKENS.admin,
      '--json',
      'tokens',
      'create',
      'later',
      '--role',
      'viewer',
      '--expires',
      '30d',
    );
    expect(expiring.code).toBe(ExitCode.Ok);
    const body = JSON.parse(expiring.stdout) as { expiresAt: string; token: string };
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect((await nono(body.token, 'tasks', 'ls')).code).toBe(ExitCode.Ok);
  });
});
