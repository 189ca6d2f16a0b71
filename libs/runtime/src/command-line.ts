import { readFileSync } from 'node:fs';

/** What a service's command line says about it. */
export interface ProgramInfo {
  /** The name users type, e.g. `nono-api`. */
  readonly name: string;
  /** The service's package.json, whose version `--version` prints. */
  readonly packageJson: URL;
  /** The text of `--help`, from its `Usage:` line on. */
  readonly usage: string;
  /** Whether the program takes commands or arguments of its own; if not, any argument is refused. */
  readonly takesArguments?: boolean;
}

export interface CommandLineAnswer {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

const HELP = new Set(['--help', '-h']);
const VERSION = new Set(['--version', '-V']);

/**
 * Answers `--help`/`-h` and `--version`/`-V` before the service reads its configuration or starts
 * anything, and refuses arguments a service without commands does not take (it would otherwise
 * start and ignore them). Arguments after `--` are left alone: `hash-token -- -x` hashes "-x".
 * Returns undefined when the program should go on.
 */
export function answerCommandLine(
  argv: readonly string[],
  program: ProgramInfo,
): CommandLineAnswer | undefined {
  const end = argv.indexOf('--');
  const options = end === -1 ? argv : argv.slice(0, end);
  if (options.some((arg) => HELP.has(arg))) return { exitCode: 0, stdout: program.usage, stderr: '' };
  if (options.some((arg) => VERSION.has(arg)))
    return { exitCode: 0, stdout: `${packageVersion(program.packageJson)}\n`, stderr: '' };
  const [first] = argv;
  if (program.takesArguments !== true && first !== undefined)
    return {
      exitCode: 2,
      stdout: '',
      stderr: `${program.name}: unknown argument ${JSON.stringify(first)}\n\n${program.usage}`,
    };
  return undefined;
}

/**
 * For a service's `main`: writes the answer of `answerCommandLine` and returns its exit code, for
 * `main` to end with; undefined when the program should go on.
 */
export function printCommandLineAnswer(argv: readonly string[], program: ProgramInfo): number | undefined {
  const answer = answerCommandLine(argv, program);
  if (answer === undefined) return undefined;
  process.stdout.write(answer.stdout);
  process.stderr.write(answer.stderr);
  return answer.exitCode;
}

/** The `version` of a package.json. */
export function packageVersion(packageJson: URL): string {
  const parsed: unknown = JSON.parse(readFileSync(packageJson, 'utf8'));
  const version =
    typeof parsed === 'object' && parsed !== null && 'version' in parsed ? parsed.version : undefined;
  if (typeof version !== 'string') throw new Error(`${packageJson.pathname} has no version`);
  return version;
}
