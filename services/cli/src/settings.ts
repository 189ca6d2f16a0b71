import { join } from 'node:path';
import { CliError, ExitCode } from './cli-error.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:7200';

/** Where the CLI finds the API and its token; flags beat the environment, which beats the file. */
export interface Settings {
  readonly apiUrl: string;
  readonly token: string | undefined;
  /** Where the token came from, for error messages ("--token", "NONO_TOKEN", a file path). */
  readonly tokenSource: string | undefined;
}

export interface SettingsInput {
  readonly flags: { readonly apiUrl?: string | undefined; readonly token?: string | undefined };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
  readonly readFile: (path: string) => Promise<string | undefined>;
}

/** `$XDG_CONFIG_HOME/nono/config.json`, else `~/.config/nono/config.json`. */
export function configFilePath(env: SettingsInput['env'], homeDir: string): string {
  const base = nonEmpty(env['XDG_CONFIG_HOME']) ?? join(homeDir, '.config');
  return join(base, 'nono', 'config.json');
}

export async function resolveSettings(input: SettingsInput): Promise<Settings> {
  const file = configFilePath(input.env, input.homeDir);
  const fromFile = await readConfigFile(file, input.readFile);
  const apiUrl = (
    nonEmpty(input.flags.apiUrl) ??
    nonEmpty(input.env['NONO_API_URL']) ??
    fromFile.apiUrl ??
    DEFAULT_API_URL
  ).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(apiUrl)) {
    throw new CliError(ExitCode.Usage, `the API URL "${apiUrl}" is not an http(s) URL`, [
      'set it with --api-url, NONO_API_URL, or "apiUrl" in ' + file,
    ]);
  }
  const candidates: Array<[string | undefined, string]> = [
    [nonEmpty(input.flags.token), '--token'],
    [nonEmpty(input.env['NONO_TOKEN']), 'NONO_TOKEN'],
    [fromFile.token, file],
  ];
  const found = candidates.find(([token]) => token !== undefined);
  return { apiUrl, token: found?.[0], tokenSource: found?.[1] };
}

async function readConfigFile(
  file: string,
  readFile: SettingsInput['readFile'],
): Promise<{ apiUrl?: string; token?: string }> {
  const text = await readFile(file);
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(ExitCode.Usage, `${file} is not valid JSON: ${(error as Error).message}`, [
      'expected {"apiUrl": "http://127.0.0.1:7200", "token": "..."} (both optional)',
    ]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(
      ExitCode.Usage,
      `${file} must hold a JSON object like {"apiUrl": "...", "token": "..."}`,
    );
  }
  const record = parsed as Record<string, unknown>;
  const result: { apiUrl?: string; token?: string } = {};
  for (const key of ['apiUrl', 'token'] as const) {
    const value = record[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new CliError(ExitCode.Usage, `${file}: "${key}" must be a string`);
    const text = nonEmpty(value);
    if (text !== undefined) result[key] = text;
  }
  return result;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
