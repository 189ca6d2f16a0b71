import { type Command } from 'commander';
import { CliError, ExitCode } from '../cli-error.js';
import { type CommandContext } from '../context.js';
import { renderTable } from '../table.js';
import { parseExpiry } from '../time-input.js';

type TokenRow = Record<string, unknown>;
const ROLES = ['viewer', 'operator', 'admin'];

/** `nono tokens …`: named API tokens (admin only). The secret is printed once, at creation. */
export function registerTokenCommands(program: Command, context: () => CommandContext): void {
  const tokens = program.command('tokens').description('named API tokens (admin)');

  tokens
    .command('create')
    .description('create a named token and print its secret: it is shown this once only')
    .argument('<name>', 'lower-case letters, digits, ".", "_", "-": what the audit trail calls its holder')
    .requiredOption('-r, --role <role>', 'viewer, operator or admin')
    .option('--expires <when>', 'a duration from now (12h, 30d) or an RFC 3339 instant; default: never')
    .action(async (name: string, options: { role: string; expires?: string }) => {
      const ctx = context();
      if (!ROLES.includes(options.role))
        throw new CliError(
          ExitCode.Usage,
          `--role "${options.role}" is not valid: expected ${ROLES.join(', ')}`,
        );
      const expiresAt =
        options.expires === undefined ? undefined : parseExpiry(options.expires, ctx.io.now());
      const { body } = await (
        await ctx.client()
      ).request<TokenRow & { token: string }>('POST', '/tokens', {
        body: { name, role: options.role, ...(expiresAt === undefined ? {} : { expiresAt }) },
      });
      ctx.print(
        body,
        () =>
          `created token ${name} (${options.role}${expiresAt === undefined ? '' : `, expires ${expiresAt}`})\n` +
          `${body.token}\n` +
          'This is the only time the secret is shown: store it now.\n',
      );
    });

  tokens
    .command('ls')
    .description('every named token: role, creation, expiry, last use (never a secret)')
    .action(async () => {
      const ctx = context();
      const { body } = await (await ctx.client()).get<{ items: TokenRow[] }>('/tokens');
      ctx.print(body.items, () =>
        body.items.length === 0
          ? 'no named tokens\n'
          : renderTable(
              ['NAME', 'ROLE', 'CREATED', 'BY', 'EXPIRES', 'LAST USED'],
              body.items.map((t) => [
                t['name'],
                t['role'],
                t['createdAt'],
                t['createdBy'],
                t['expired'] === true ? `${String(t['expiresAt'])} (expired)` : (t['expiresAt'] ?? 'never'),
                t['lastUsedAt'] ?? 'never',
              ]),
            ),
      );
    });

  tokens
    .command('revoke')
    .description('revoke a named token: it is refused (401) from now on')
    .argument('<name>', 'token name')
    .action(async (name: string) => {
      const ctx = context();
      await (await ctx.client()).request('DELETE', `/tokens/${encodeURIComponent(name)}`);
      ctx.print({ name, action: 'revoked' }, () => `revoked token ${name}\n`);
    });
}
