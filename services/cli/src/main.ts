#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, ExitCode } from './cli-error.js';
import { type CliIo } from './context.js';
import { runCli } from './program.js';

/** The composition root: real files, stdin, the user's editor, the process environment. */
const io: CliIo = {
  env: process.env,
  homeDir: homedir(),
  now: () => Date.now(),
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  readFile: async (path) => {
    if (path === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
      return Buffer.concat(chunks).toString('utf8');
    }
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ENOENT') return undefined;
      throw new CliError(
        ExitCode.Usage,
        `cannot read ${path}: ${typeof code === 'string' ? code : String(error)}`,
      );
    }
  },
  writeFile: async (path, text) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text, { mode: 0o600 });
  },
  listDir: async (path) => {
    if (path === '-') return undefined;
    try {
      return (await readdir(path)).sort();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ENOTDIR' || code === 'ENOENT') return undefined;
      throw error;
    }
  },
  tempPath: (suffix) => join(tmpdir(), `${randomBytes(4).toString('hex')}-${suffix}`),
  openEditor: (path) => {
    const editor = process.env['VISUAL']?.trim() || process.env['EDITOR']?.trim() || 'vi';
    return new Promise((resolve, reject) => {
      // Through the shell, so EDITOR="code --wait" works as people write it.
      const child = spawn(`${editor} '${path.replaceAll("'", "'\\''")}'`, { shell: true, stdio: 'inherit' });
      child.on('error', (error) =>
        reject(new CliError(ExitCode.Usage, `cannot start the editor "${editor}": ${error.message}`)),
      );
      child.on('exit', (code) =>
        code === 0
          ? resolve()
          : reject(
              new CliError(
                ExitCode.Usage,
                `the editor "${editor}" exited with code ${String(code)}: nothing was saved`,
              ),
            ),
      );
    });
  },
};

process.exitCode = await runCli(process.argv.slice(2), io);
