import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/processes.js';

/**
 * The Node versions nono names (package.json `engines`, the README) are ones every installed
 * package supports: otherwise `npm ci` warns EBADENGINE, and a package may not load at all (an
 * ESM-only one `require`d from CommonJS needs Node 20.19's require(esm)).
 */
interface Lock {
  readonly packages: Record<string, { readonly version?: string; readonly engines?: { node?: string } }>;
}

const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
};
const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Lock;
const range = root.engines.node;
// The oldest release each part of the range admits (`^20.19.0 || ^22.13.0`: 20.19.0 and 22.13.0).
const oldest = new semver.Range(range).set
  .map((comparators) => semver.minVersion(comparators.map((comparator) => comparator.value).join(' ')))
  .filter((version): version is semver.SemVer => version !== null);

describe('the Node versions nono supports', () => {
  it('are named in package.json engines, for Node 20 and 22', () => {
    expect(oldest.map((version) => version.major)).toEqual([20, 22]);
  });

  it.each(oldest.map((version) => version.version))('Node %s satisfies every installed package', (node) => {
    const refusing = Object.entries(lock.packages)
      .filter(([, entry]) => entry.engines?.node !== undefined && !semver.satisfies(node, entry.engines.node))
      .map(
        ([path, entry]) =>
          `${path.replace(/^.*node_modules\//, '')}@${entry.version ?? '?'} wants ${entry.engines?.node ?? ''}`,
      );
    expect(refusing).toEqual([]);
  });

  it('are the ones the README and the getting-started guide name', () => {
    const named = oldest.map((version) => `Node ${version.major}.${version.minor}`);
    for (const file of ['README.md', 'docs/GETTING-STARTED.md'])
      for (const name of named) expect(readFileSync(join(REPO_ROOT, file), 'utf8'), file).toContain(name);
  });
});
