import { type SchedulerTask } from '@nono/domain';
import { describe, expect, it } from 'vitest';
import { NextFireCache } from './next-fire-cache.js';

/** Fires every 1,000 ms until `lastAt`; counts how often it is asked. */
function everySecond(lastAt = Number.POSITIVE_INFINITY) {
  const calls: number[] = [];
  const cache = new NextFireCache((_task, after) => {
    calls.push(after);
    const next = (Math.floor(after / 1000) + 1) * 1000;
    return next <= lastAt ? next : undefined;
  });
  return { cache, calls };
}
const task = (id: string) => ({ id }) as unknown as SchedulerTask;

describe('NextFireCache', () => {
  it('computes once per task until the instant it found has passed', () => {
    const { cache, calls } = everySecond();
    const a = task('a');
    expect(cache.nextFireAt(a, 10_100)).toBe('1970-01-01T00:00:11.000Z');
    expect(cache.nextFireAt(a, 10_999)).toBe('1970-01-01T00:00:11.000Z');
    expect(calls).toEqual([10_100]);
    // At the instant itself the next one is strictly after it.
    expect(cache.nextFireAt(a, 11_000)).toBe('1970-01-01T00:00:12.000Z');
    expect(calls).toEqual([10_100, 11_000]);
  });

  it('never answers a changed task (a new object) from the old one', () => {
    const { cache, calls } = everySecond();
    cache.nextFireAt(task('a'), 10_100);
    cache.nextFireAt(task('a'), 10_200);
    expect(calls).toEqual([10_100, 10_200]);
  });

  it('remembers "never again", and recomputes when the clock went back', () => {
    const { cache, calls } = everySecond(12_000);
    const a = task('a');
    expect(cache.nextFireAt(a, 12_500)).toBeNull();
    expect(cache.nextFireAt(a, 99_000)).toBeNull();
    expect(calls).toEqual([12_500]);
    expect(cache.nextFireAt(a, 11_500)).toBe('1970-01-01T00:00:12.000Z');
    expect(calls).toEqual([12_500, 11_500]);
  });
});
