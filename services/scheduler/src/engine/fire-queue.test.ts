import { ManualClock } from '@nono/domain';
import { describe, expect, it } from 'vitest';
import { FireQueue } from './fire-queue.js';

describe('FireQueue', () => {
  it('fires tasks in due order with one timer, honouring reschedules and cancels', () => {
    const clock = new ManualClock(0);
    const fired: Array<[string, number]> = [];
    const queue = new FireQueue(clock, (taskId) => fired.push([taskId, clock.now()]));
    queue.schedule('c', 300);
    queue.schedule('a', 100);
    queue.schedule('b', 200);
    queue.schedule('a', 250); // reschedule: only the latest counts
    queue.schedule('d', 150);
    queue.cancel('d');
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1000);
    expect(fired).toEqual([
      ['b', 200],
      ['a', 250],
      ['c', 300],
    ]);
    expect(queue.size).toBe(0);
  });

  it('handles 10,000 tasks and their reschedules', () => {
    const clock = new ManualClock(0);
    let count = 0;
    let last = -1;
    const queue = new FireQueue(clock, (taskId, dueAt) => {
      count++;
      expect(dueAt).toBeGreaterThanOrEqual(last);
      last = dueAt;
      if (dueAt < 5000) queue.schedule(taskId, dueAt + 1000);
    });
    for (let i = 0; i < 10_000; i++) queue.schedule(`t${i}`, (i * 7919) % 1000);
    clock.advance(5000);
    // Five fires each in [0, 5000), plus a sixth at exactly 5000 for the ten tasks first due at 0.
    expect(count).toBe(50_010);
  });

  it('fires a task scheduled in the past at once', () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    const queue = new FireQueue(clock, (taskId) => fired.push(taskId));
    queue.schedule('late', 10);
    clock.advance(0);
    expect(fired).toEqual(['late']);
  });
});
