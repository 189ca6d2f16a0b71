// @ts-check
// Process and port helpers shared by infra/ and scripts/start-local.mjs (built-ins only):
// whether a pid runs (a zombie does not), its command line, a port's freedom, stopping a pid.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** @param {number} ms @returns {Promise<void>} */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The path of an executable on PATH, or null.
 * @param {string} cmd
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {string | null}
 */
export function which(cmd, env = process.env) {
  for (const dir of (env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** @param {string} p @returns {string | null} the file's text, null when it cannot be read */
export function readText(p) {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/** @param {string} p @param {number} offset @returns {string} the file's text from a byte offset on */
export function readFrom(p, offset) {
  try {
    const buf = fs.readFileSync(p);
    return buf.subarray(Math.min(offset, buf.length)).toString('utf8');
  } catch {
    return '';
  }
}

/** @param {string} p @param {number} [lines] @returns {string} the file's last lines */
export function tail(p, lines = 20) {
  const text = readText(p);
  if (!text) return '';
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Whether a process with this pid runs: signal 0 (EPERM means it runs as another user); a
 * zombie (exited, not yet reaped: an orphan waits for PID 1) counts as gone.
 * @param {number} pid
 * @returns {boolean}
 */
export function pidAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== 'EPERM') return false;
  }
  // a zombie (exited, not yet reaped) counts as dead
  const stat = readText(`/proc/${pid}/stat`);
  if (stat) {
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  }
  return true;
}

/**
 * The command line of a process, to tell one's own children from a recycled pid.
 * @param {number} pid
 * @returns {string}
 */
export function commandLine(pid) {
  const raw = readText(`/proc/${pid}/cmdline`);
  if (raw !== null) return raw.split('\0').join(' ');
  const r = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

/**
 * Resident memory of a process in bytes (Linux only; null elsewhere).
 * @param {number} pid
 * @returns {number | null}
 */
export function rssBytes(pid) {
  const st = readText(`/proc/${pid}/status`);
  const m = st && st.match(/^VmRSS:\s+(\d+)\s+kB/m);
  return m ? Number(m[1]) * 1024 : null;
}

/** @param {string} p */
export function removeFile(p) {
  try {
    fs.rmSync(p, { force: true });
  } catch {
    /* ignore */
  }
}

/**
 * True when nothing listens on host:port (this process can bind it itself).
 * @param {number} port
 * @param {string} [host]
 * @returns {Promise<boolean>}
 */
export function portFree(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.unref();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * SIGTERM, wait up to graceMs, then SIGKILL.
 * @param {number} pid
 * @param {number} [graceMs]
 * @returns {Promise<'term' | 'kill' | 'gone'>}
 */
export async function stopPid(pid, graceMs = 15_000) {
  if (!pidAlive(pid)) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return 'term';
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone meanwhile */
  }
  const killDeadline = Date.now() + 5000;
  while (pidAlive(pid) && Date.now() < killDeadline) await sleep(100);
  return 'kill';
}
