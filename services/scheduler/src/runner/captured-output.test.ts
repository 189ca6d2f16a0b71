import { describe, expect, it } from 'vitest';
import { capturedOutput } from './captured-output.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('capturedOutput', () => {
  it('keeps a whole UTF-8 body as text, with the chosen headers that are present', () => {
    expect(
      capturedOutput(bytes('{"rows":3}'), 10, { 'content-type': 'application/json', 'x-run': ['a', 'b'] }, [
        'Content-Type',
        'X-Run',
        'X-Absent',
      ]),
    ).toEqual({
      body: '{"rows":3}',
      encoding: 'utf8',
      bytes: 10,
      truncated: false,
      headers: { 'content-type': 'application/json', 'x-run': 'a, b' },
    });
  });

  it('marks a cut body truncated and keeps the whole characters before a cut inside one', () => {
    // "é" is two bytes: cutting after its first byte leaves "ab" and says truncated.
    const body = bytes('abé');
    const output = capturedOutput(body.subarray(0, 3), body.length, {}, []);
    expect(output).toMatchObject({ body: 'ab', encoding: 'utf8', bytes: 4, truncated: true });
  });

  it('keeps bytes that are not UTF-8 as base64', () => {
    const body = Uint8Array.from([0xff, 0x00, 0xfe, 0x41]);
    expect(capturedOutput(body, 4, {}, [])).toMatchObject({
      body: Buffer.from(body).toString('base64'),
      encoding: 'base64',
      truncated: false,
    });
  });
});
