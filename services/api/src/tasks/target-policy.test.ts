import { describe, expect, it } from 'vitest';
import { TargetPolicy } from './target-policy.js';

describe('target policy', () => {
  const policy = new TargetPolicy(['127.0.0.1', 'LocalHost', '*.example.com', '::1']);
  it.each([
    ['http://127.0.0.1:8080/x', true],
    ['http://localhost/x', true],
    ['https://a.example.com/', true],
    ['https://a.b.example.com/', true],
    ['https://example.com/', false],
    ['https://evil-example.com/', false],
    ['http://[::1]:80/', true],
    ['http://169.254.169.254/', false],
    ['http://127.0.0.1.nip.io/', false],
  ])('%s allowed: %s', (url, allowed) => {
    expect(policy.check(url).length === 0).toBe(allowed);
  });
});
