import { InvalidArgumentError } from 'commander';

/** Commander argument parsers: a bad value is a usage error (exit 1) naming the accepted form. */
export function positiveInt(max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max)
      throw new InvalidArgumentError(`expected an integer from 1 to ${max}`);
    return n;
  };
}

export const countOption = positiveInt(100);
