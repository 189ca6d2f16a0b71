/**
 * Exit codes, stable for scripts. Documented in the README; `exit-codes.test.ts` keeps the two
 * in step.
 */
export const ExitCode = {
  Ok: 0,
  /** Bad usage, a file that is not a task, or the API refused the input (400, 413, 415, 422). */
  Usage: 1,
  /** `nono ledger`: an instant unaccounted for, doubled, acted on by a stale owner, or fired when not due. */
  LedgerViolation: 1,
  /** No such task, execution or route (404). */
  NotFound: 2,
  /** Someone else changed the task first, or the id is taken (409, 412). */
  Conflict: 3,
  /** No token, an unknown token (401), or a role too weak for the command (403). */
  Auth: 4,
  /** The API (or the history behind it) is unreachable, timed out, rate-limited or failed (5xx, 429). */
  Unavailable: 5,
  /** The server does not offer this command. */
  Unsupported: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** One error the user can act on: a sentence, optional detail lines, and the exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly details: readonly string[];

  constructor(exitCode: ExitCode, message: string, details: readonly string[] = []) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.details = details;
  }
}
