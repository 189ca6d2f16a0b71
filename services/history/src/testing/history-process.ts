import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built service entry: spawned tests run what ships, so `npm run build -w @nono/history` first. */
export const HISTORY_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');

export interface HistoryProcess {
  readonly child: ChildProcess;
  /** Resolves with the API URL once the service logged it. */
  readonly url: Promise<string>;
  readonly exited: Promise<number | null>;
}

export function spawnHistory(env: Record<string, string>): HistoryProcess {
  if (!existsSync(HISTORY_MAIN))
    throw new Error(`${HISTORY_MAIN} is missing: run npm run build -w @nono/history`);
  const child = spawn(process.execPath, [HISTORY_MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const url = new Promise<string>((done, failed) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const match = /history listening on (http:\/\/[^"\s]+)/.exec(buffer);
      if (match?.[1] !== undefined) done(match[1]);
      if (buffer.length > 1_000_000) buffer = buffer.slice(-10_000);
    });
    child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    void exited.then((code) =>
      failed(new Error(`history exited with ${code} before listening: ${buffer.slice(-2000)}`)),
    );
  });
  url.catch(() => undefined);
  return { child, url, exited };
}
