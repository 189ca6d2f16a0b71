import { describe, expect, it } from 'vitest';
import { ManualClock, SystemClock } from './clock.js';

describe('ManualClock', () => {
  it('runs due timers in due order, each seeing its own due instant', () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const seen: Array<[string, number]> = [];
    clock.setTimer(() => seen.push(['b', clock.now()]), 200);
    clock.setTimer(() => seen.push(['a', clock.now()]), 100);
    const cancelled = clock.setTimer(() => seen.push(['x', clock.now()]), 150);
    clock.clearTimer(cancelled);
    clock.advance(150);
    expect(seen).toEqual([['a', Date.parse('2026-01-01T00:00:00.100Z')]]);
    clock.advance(1000);
    expect(seen.map(([name]) => name)).toEqual(['a', 'b']);
    expect(clock.now()).toBe(Date.parse('2026-01-01T00:00:01.150Z'));
    expect(clock.pendingTimers).toBe(0);
  });

  it('runs timers that timers schedule, when they fall in the window', () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    const tick = (): void => {
      seen.push(clock.now());
      if (seen.length < 3) clock.setTimer(tick, 10);
    };
    clock.setTimer(tick, 10);
    clock.advance(100);
    expect(seen).toEqual([10, 20, 30]);
  });

  it('can be set backwards without running anything', () => {
    const clock = new ManualClock(10_000);
    clock.set(5_000);
    expect(clock.now()).toBe(5_000);
  });

  it('rejects a bad start', () => {
    expect(() => new ManualClock('yesterday')).toThrow(RangeError);
  });
});

describe('SystemClock', () => {
  it('reads the real clock and fires real timers', async () => {
    const clock = new SystemClock();
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1000);
    await new Promise<void>((resolve) => clock.setTimer(resolve, 1));
    const handle = clock.setTimer(() => {
      throw new Error('cancelled timer ran');
    }, 5);
    clock.clearTimer(handle);
    await new Promise((resolve) => setTimeout(resolve, 20));
  });
});
