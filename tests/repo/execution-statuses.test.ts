import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/processes.js';

/**
 * The execution statuses are listed once, in libs/domain (`EXECUTION_STATUSES`,
 * `FAILED_EXECUTION_STATUSES`); the CLI, history and the web UI (through the API's
 * /execution-statuses.js) take them from there. An array holding 'misfired' or 'timed-out'
 * elsewhere is a copy.
 */
const LIST_ONLY_HERE = join(REPO_ROOT, 'libs/domain/src/execution-status.ts');

const sources = (dir: string, ext: string): string[] =>
  readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith(ext) && !file.endsWith('.test.ts'))
    .map((file) => join(REPO_ROOT, dir, file));

describe('the execution status list', () => {
  it('is written in libs/domain', () => {
    expect(readFileSync(LIST_ONLY_HERE, 'utf8')).toMatch(/export const EXECUTION_STATUSES = \[/);
  });

  it.each([
    ['the CLI', sources('services/cli/src', '.ts')],
    ['the web UI', sources('services/api/ui', '.js')],
  ])('is not copied in %s', (_, files) => {
    expect(files.length).toBeGreaterThan(3);
    const copies = files.filter((file) =>
      /\[[^\]]*(['"])(misfired|timed-out)\1/.test(readFileSync(file, 'utf8')),
    );
    expect(copies.map((file) => file.slice(REPO_ROOT.length + 1))).toEqual([]);
  });
});
