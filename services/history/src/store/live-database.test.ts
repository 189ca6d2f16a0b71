import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@nono/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LiveDatabase } from './live-database.js';
import { openDatabase } from './open-database.js';

describe('LiveDatabase.swapIn', () => {
  let dir: string;
  let live: LiveDatabase;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nono-history-live-db-'));
    live = new LiveDatabase(join(dir, 'history.sqlite'), new ManualClock(0));
    live.current.store.saveOffset('t', 0, 10);
  });
  afterEach(() => {
    live.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts the built file at the configured path and makes it current in one call', () => {
    const built = join(dir, 'history.sqlite.rebuild-1');
    const next = openDatabase(built);
    next.sqlite.prepare('insert into consumer_offsets values (?, ?, ?)').run('t', 0, 42);
    next.close();
    const before = live.current;

    live.swapIn(built);

    expect(live.current).not.toBe(before);
    expect(() => before.store.nextOffset('t', 0)).toThrow(/not open/);
    expect(live.current.store.nextOffset('t', 0)).toBe(42);
    expect(existsSync(built)).toBe(false);
    expect(readdirSync(dir).filter((name) => name.includes('rebuild'))).toEqual([]);
  });

  it('reopens the old file and rethrows when the built file cannot be moved', () => {
    expect(() => live.swapIn(join(dir, 'missing.sqlite'))).toThrow(/ENOENT/);
    expect(live.current.store.nextOffset('t', 0)).toBe(10);
  });
});
