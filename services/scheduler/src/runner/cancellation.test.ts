import { describe, expect, it } from 'vitest';
import { Cancellation } from './cancellation.js';

describe('Cancellation', () => {
  it('runs each listener once, and a listener added after the cancel at once', () => {
    const cancellation = new Cancellation();
    const calls: string[] = [];
    cancellation.onCancel(() => calls.push('a'));
    const offB = cancellation.onCancel(() => calls.push('b'));
    offB();
    cancellation.cancel();
    cancellation.cancel();
    cancellation.onCancel(() => calls.push('late'));
    expect(calls).toEqual(['a', 'late']);
    expect(cancellation.cancelled).toBe(true);
  });
});
