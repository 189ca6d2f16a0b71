import { describe, expect, it } from 'vitest';
import { EnvReader } from './env-reader.js';
import { loadTargetPolicy } from './target-policy-config.js';

describe('the target policy read from the environment', () => {
  it('keeps tasks off every history replica, as off the single history URL', () => {
    const policy = loadTargetPolicy(
      new EnvReader({
        NONO_HISTORY_URL: 'http://127.0.0.1:7301',
        NONO_HISTORY_URLS: 'http://127.0.0.1:7302,http://127.0.0.1:7303/',
      }),
    );
    for (const port of [7301, 7302, 7303])
      expect(policy.check(`http://127.0.0.1:${port}/run`)).not.toEqual([]);
    expect(policy.check('http://127.0.0.1:7304/run')).toEqual([]);
  });

  it('refuses a history replica that is not a URL, naming the variable', () => {
    expect(() => loadTargetPolicy(new EnvReader({ NONO_HISTORY_URLS: 'http://h1:7300,h2 7300' }))).toThrow(
      'NONO_HISTORY_URLS',
    );
  });
});
