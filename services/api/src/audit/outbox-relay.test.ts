import { describe, expect, it } from 'vitest';
import { byteBoundedBatches } from './outbox-relay.js';

const sized = (...sizes: number[]) => sizes.map((bytes, index) => ({ index, bytes }));
const indexes = (batches: Array<Array<{ index: number }>>) => batches.map((b) => b.map((item) => item.index));

describe('byteBoundedBatches (Kafka batches of the outbox relay)', () => {
  it.each([
    [[], []],
    [[10, 10, 10], [[0, 1, 2]]],
    [
      [40, 40, 40],
      [[0, 1], [2]],
    ],
    [
      [100, 1],
      [[0], [1]],
    ],
    // An entry larger than the bound goes alone rather than never.
    [
      [10, 500, 10],
      [[0], [1], [2]],
    ],
  ])('%j → %j (max 100 bytes), order kept', (sizes, expected) => {
    expect(indexes(byteBoundedBatches(sized(...sizes), 100))).toEqual(expected);
  });
});
