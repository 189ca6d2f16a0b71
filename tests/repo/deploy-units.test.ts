import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/processes.js';

/**
 * The systemd units under deploy/ (docs/DEPLOYMENT.md): one per service, hardened, each
 * starting a real built entry point, each reading settings nono documents. With
 * systemd-analyze on the machine they are also verified by systemd itself.
 */
const UNITS_DIR = join(REPO_ROOT, 'deploy', 'systemd');
const ENV_DIR = join(REPO_ROOT, 'deploy', 'env');
const SERVICES = ['api', 'scheduler', 'history', 'alerts'];

type Unit = Map<string, Array<[string, string]>>;

/** Sections and their `key=value` lines, in order (a key may repeat); comments and blank lines dropped. */
function parseUnit(text: string, file: string): Unit {
  const unit: Unit = new Map();
  let section: Array<[string, string]> | undefined;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header !== null) {
      section = [];
      unit.set(header[1] ?? '', section);
      continue;
    }
    const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (pair === null || section === undefined)
      throw new Error(`${file}:${index + 1}: not key=value in a section: ${raw}`);
    section.push([pair[1] ?? '', pair[2] ?? '']);
  }
  return unit;
}

const values = (unit: Unit, section: string, key: string): string[] =>
  (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);

/** Every key these units may use, per section: a misspelt key is an error here, not a silent no-op. */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  Unit: ['Description', 'After', 'Wants', 'StartLimitIntervalSec', 'StartLimitBurst'],
  Service: [
    'Type',
    'WorkingDirectory',
    'ExecStart',
    'EnvironmentFile',
    'Environment',
    'StateDirectory',
    'StateDirectoryMode',
    'Restart',
    'RestartSec',
    'TimeoutStopSec',
    'DynamicUser',
    'NoNewPrivileges',
    'CapabilityBoundingSet',
    'AmbientCapabilities',
    'ProtectSystem',
    'ProtectHome',
    'PrivateTmp',
    'PrivateDevices',
    'PrivateUsers',
    'ProtectKernelTunables',
    'ProtectKernelModules',
    'ProtectKernelLogs',
    'ProtectControlGroups',
    'ProtectClock',
    'ProtectHostname',
    'ProtectProc',
    'RestrictAddressFamilies',
    'RestrictNamespaces',
    'RestrictRealtime',
    'RestrictSUIDSGID',
    'RemoveIPC',
    'LockPersonality',
    'MemoryDenyWriteExecute',
    'SystemCallArchitectures',
    'SystemCallFilter',
    'SystemCallErrorNumber',
    'UMask',
    'LimitNOFILE',
  ],
  Install: ['WantedBy'],
};

const units = SERVICES.map((service) => {
  const file = join(UNITS_DIR, `nono-${service}.service`);
  return { service, file, unit: parseUnit(readFileSync(file, 'utf8'), file) };
});

describe('the systemd units in deploy/', () => {
  it('are one per service, and nothing else', () => {
    expect(readdirSync(UNITS_DIR).sort()).toEqual(SERVICES.map((s) => `nono-${s}.service`).sort());
  });

  it.each(units)('nono-$service has [Unit], [Service] and [Install] with known keys only', ({ unit }) => {
    expect([...unit.keys()]).toEqual(['Unit', 'Service', 'Install']);
    for (const [section, pairs] of unit)
      for (const [key] of pairs) expect(KNOWN_KEYS[section], `${section}.${key}`).toContain(key);
    expect(values(unit, 'Install', 'WantedBy')).toEqual(['multi-user.target']);
  });

  it.each(units)('nono-$service starts the entry point its package builds', ({ service, unit }) => {
    const [execStart, ...more] = values(unit, 'Service', 'ExecStart');
    expect(more).toEqual([]);
    const words = (execStart ?? '').split(/\s+/);
    expect(words[0]).toBe('/usr/bin/node');
    const script = words.slice(1).find((word) => !word.startsWith('-')) ?? '';
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'services', service, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    const bin = Object.values(pkg.bin)[0] ?? '';
    // /opt/nono is the repository, built: the script is the package's bin (dist/main.js), built from src/main.ts.
    expect(script).toBe(join('/opt/nono/services', service, bin));
    expect(bin).toBe('./dist/main.js');
    expect(existsSync(join(REPO_ROOT, 'services', service, 'src', 'main.ts'))).toBe(true);
  });

  it.each(units)('nono-$service runs hardened, under a user of its own', ({ unit }) => {
    const one = (key: string): string | undefined => values(unit, 'Service', key).at(-1);
    expect(one('DynamicUser')).toBe('yes');
    for (const key of [
      'NoNewPrivileges',
      'PrivateTmp',
      'PrivateDevices',
      'ProtectHome',
      'ProtectKernelTunables',
      'ProtectKernelModules',
      'ProtectControlGroups',
      'RestrictNamespaces',
      'RestrictSUIDSGID',
      'LockPersonality',
    ])
      expect(one(key), key).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(one('UMask')).toBe('0077');
    // V8's JIT needs writable and executable memory: a unit that forbids it would not start.
    expect(one('MemoryDenyWriteExecute')).toBe('no');
  });

  it.each(units)(
    'nono-$service reads /etc/nono/nono.env, then its own file, whose example exists',
    ({ service, unit }) => {
      expect(values(unit, 'Service', 'EnvironmentFile')).toEqual([
        '/etc/nono/nono.env',
        `-/etc/nono/nono-${service}.env`,
      ]);
      expect(existsSync(join(ENV_DIR, `nono-${service}.env.example`))).toBe(true);
    },
  );

  it('sets only variables nono documents, in the units and the example settings', () => {
    const documented = [
      join(REPO_ROOT, 'README.md'),
      ...SERVICES.map((s) => join(REPO_ROOT, 'services', s, 'README.md')),
    ]
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const named = new Set<string>();
    for (const file of readdirSync(ENV_DIR))
      for (const match of readFileSync(join(ENV_DIR, file), 'utf8').matchAll(/^#?(NONO_[A-Z_]+)=/gm))
        named.add(match[1] ?? '');
    for (const { unit } of units)
      for (const value of values(unit, 'Service', 'Environment')) {
        const name = /^(NONO_[A-Z_]+)=/.exec(value)?.[1];
        if (name !== undefined) named.add(name);
      }
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((name) => !documented.includes(name))).toEqual([]);
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  it.skipIf(analyze.status !== 0)('pass systemd-analyze verify, and security finds them OK', () => {
    // Verified as installed, except that node is wherever this machine has it (systemd checks the executable).
    const dir = mkdtempSync(join(tmpdir(), 'nono-units-'));
    for (const { file, service } of units)
      writeFileSync(
        join(dir, `nono-${service}.service`),
        readFileSync(file, 'utf8').replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `),
      );
    const files = units.map(({ service }) => join(dir, `nono-${service}.service`));
    const verify = spawnSync('systemd-analyze', ['verify', ...files], { encoding: 'utf8' });
    expect(`${verify.stdout}${verify.stderr}`).toBe('');
    expect(verify.status).toBe(0);
    for (const file of files) {
      const security = spawnSync('systemd-analyze', ['security', '--offline=yes', file], {
        encoding: 'utf8',
      });
      // systemd older than 250 has no --offline: nothing to say then.
      if (/unrecognized option|Unknown option/i.test(security.stderr)) continue;
      const level = /Overall exposure level for .*: (\d+\.\d+) (\S+)/.exec(security.stdout);
      expect(level?.[2], `${file}: ${security.stdout.split('\n').at(-2) ?? security.stderr}`).toBe('OK');
    }
  });
});
