// @ts-check
// One nono-infra command at a time per run dir (up, down, install): a lock directory whose
// owner file names the pid; a dead owner's lock is taken over.

import fs from 'node:fs';
import path from 'node:path';
import { InfraError, show } from './config.mjs';
import { pidAlive, readText, sleep } from './processes.mjs';

export let lockDepth = 0;

export async function withLock(cfg, fn) {
  if (lockDepth > 0) {
    lockDepth++;
    try {
      return await fn();
    } finally {
      lockDepth--;
    }
  }
  fs.mkdirSync(cfg.runDir, { recursive: true });
  const owner = path.join(cfg.lockDir, 'owner');
  const deadline = Date.now() + 5 * 60_000;
  let told = false;
  for (;;) {
    try {
      fs.mkdirSync(cfg.lockDir);
      fs.writeFileSync(owner, String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    const holder = Number.parseInt(readText(owner) ?? '', 10);
    let stale = false;
    if (Number.isInteger(holder)) stale = !pidAlive(holder);
    else {
      try {
        stale = Date.now() - fs.statSync(cfg.lockDir).mtimeMs > 10_000; // owner never written
      } catch {
        stale = false; // vanished: retry
      }
    }
    if (stale) {
      fs.rmSync(cfg.lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new InfraError(
        `infra: another nono-infra command (pid ${holder}) has held ${show(cfg.lockDir)} for 5 minutes; wait for it or remove that directory.`,
      );
    }
    if (!told) {
      told = true;
      process.stderr.write(`infra: waiting for another nono-infra command (pid ${holder}) to finish\n`);
    }
    await sleep(250);
  }
  lockDepth++;
  try {
    return await fn();
  } finally {
    lockDepth--;
    fs.rmSync(cfg.lockDir, { recursive: true, force: true });
  }
}
