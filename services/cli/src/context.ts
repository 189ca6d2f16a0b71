import { ApiClient } from './api-client.js';
import { CliError, ExitCode } from './cli-error.js';
import { configFilePath, resolveSettings } from './settings.js';

/** Everything the CLI touches outside itself, so tests can run it in-process. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
  readonly now: () => number;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Reads a file (`-` is stdin); `undefined` when it does not exist. */
  readonly readFile: (path: string) => Promise<string | undefined>;
  /** Writes a file, making its directory first when missing. */
  readonly writeFile: (path: string, text: string) => Promise<void>;
  /** The names in a directory, sorted; `undefined` when `path` is not a directory. */
  readonly listDir: (path: string) => Promise<string[] | undefined>;
  /** A fresh path in the temporary directory whose name ends with `suffix`. */
  readonly tempPath: (suffix: string) => string;
  /** Opens $VISUAL / $EDITOR on the file and resolves when the editor exits successfully. */
  readonly openEditor: (path: string) => Promise<void>;
  readonly fetch?: typeof fetch;
}

export interface GlobalFlags {
  readonly apiUrl?: string;
  readonly token?: string;
  readonly json?: boolean;
}

/** What a command needs: the API client, and one way to print for people or for scripts. */
export class CommandContext {
  readonly io: CliIo;
  readonly json: boolean;
  readonly #flags: GlobalFlags;

  constructor(io: CliIo, flags: GlobalFlags) {
    this.io = io;
    this.#flags = flags;
    this.json = flags.json === true;
  }

  async client(): Promise<ApiClient> {
    const settings = await resolveSettings({
      flags: { apiUrl: this.#flags.apiUrl, token: this.#flags.token },
      env: this.io.env,
      homeDir: this.io.homeDir,
      readFile: this.io.readFile,
    });
    return new ApiClient({
      settings,
      configFile: configFilePath(this.io.env, this.io.homeDir),
      ...(this.io.fetch === undefined ? {} : { fetch: this.io.fetch }),
    });
  }

  /** The text of `-f <file>` (`-` is stdin) and what to call it in messages; a missing file is a usage error. */
  async readInput(file: string): Promise<{ readonly text: string; readonly source: string }> {
    const source = file === '-' ? 'stdin' : file;
    const text = await this.io.readFile(file);
    if (text === undefined) throw new CliError(ExitCode.Usage, `cannot read ${source}: no such file`);
    return { text, source };
  }

  /** `--json` prints `data` as one JSON document; otherwise `human()` is printed. */
  print(data: unknown, human: () => string): void {
    this.io.out(this.json ? `${JSON.stringify(data, null, 2)}\n` : human());
  }
}
