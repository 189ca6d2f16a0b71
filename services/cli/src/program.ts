import { Command, CommanderError } from 'commander';
import { CliError, ExitCode } from './cli-error.js';
import { registerAlertCommands } from './commands/alerts.js';
import { registerGroupCommands } from './commands/groups.js';
import { registerTaskCommands } from './commands/tasks.js';
import { registerTokenCommands } from './commands/tokens.js';
import { registerCalendarCommands } from './commands/calendars.js';
import { registerBackfillCommands } from './commands/backfills.js';
import { registerViewCommands } from './commands/views.js';
import { type CliIo, CommandContext, type GlobalFlags } from './context.js';

export const VERSION = '0.1.0';

const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  usage error, unreadable task file, or input the API refused (the bad fields are listed)
  2  not found (task, execution, alert, alert rule, token, worker group)
  3  conflict: the id is taken, the task or rule changed since it was read, or the alert is not open
  4  authentication: no token, unknown token, or a role too weak
  5  the API or the history service is unreachable, failing (5xx) or rate-limiting
  6  the server does not offer this command

Environment: NONO_API_URL (default http://127.0.0.1:7200), NONO_TOKEN, VISUAL/EDITOR (for edit).
Config file: ~/.config/nono/config.json  {"apiUrl": "...", "token": "..."}`;

/** Runs one command line and answers its exit code; never calls process.exit (main.ts does). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let flags: GlobalFlags = {};
  const program = new Command('nono')
    .description('Command line for nono, the distributed scheduled-task dispatcher.')
    .version(VERSION, '-V, --version')
    .option('--api-url <url>', 'API base URL (else NONO_API_URL, the config file, http://127.0.0.1:7200)')
    .option('--token <token>', 'API token (else NONO_TOKEN, then the config file)')
    .option('--json', 'print JSON for scripts instead of tables')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  program.hook('preAction', (_program, action) => {
    flags = action.optsWithGlobals<GlobalFlags>();
  });
  const context = (): CommandContext => new CommandContext(io, flags);
  registerTaskCommands(program, context);
  registerGroupCommands(program, context);
  registerViewCommands(program, context);
  registerAlertCommands(program, context);
  registerTokenCommands(program, context);
  registerCalendarCommands(program, context);
  registerBackfillCommands(program, context);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.Ok;
  } catch (error) {
    // Commander has already printed its own message (unknown command, missing argument, help).
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    if (error instanceof CliError) {
      io.err(`nono: ${error.message}\n${error.details.map((line) => `  ${line}\n`).join('')}`);
      return error.exitCode;
    }
    io.err(
      `nono: unexpected error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return ExitCode.Usage;
  }
}
