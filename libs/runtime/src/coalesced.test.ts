import { describe, expect, it } from 'vitest';
import { coalesced } from './coalesced.js';

describe('coalesced', () => {
  it('never overlaps runs, collapses a burst into one more run, and resolves after a run that began after the request', async () => {
    const started: number[] = [];
    let active = 0;
    let release: (() => void) | undefined;
    const refresh = coalesced(async () => {
      started.push(started.length);
      active += 1;
      expect(active).toBe(1);
      await new Promise<void>((resolve) => (release = resolve));
      active -= 1;
    });
    const first = refresh();
    const burst = [refresh(), refresh(), refresh()];
    release?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1]);
    release?.();
    await Promise.all([first, ...burst]);
    expect(started).toEqual([0, 1]);
  });
});
