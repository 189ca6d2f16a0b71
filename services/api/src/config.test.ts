import { EnvReader } from '@nono/runtime';
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from './config.js';

describe('configuration', () => {
  it('has defaults', () => {
    const config = loadApiConfig(new EnvReader({}));
    expect(config).toMatchObject({
      port: 7200,
      host: '127.0.0.1',
      historyUrl: 'http://127.0.0.1:7300',
      allowedTargetHosts: ['127.0.0.1', 'localhost'],
      tokens: [],
    });
  });
  it.each([
    ['NONO_API_PORT', 'eighty'],
    ['NONO_API_TOKENS', 'admin:short'],
    ['NONO_HISTORY_URL', 'ftp://x'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadApiConfig(new EnvReader({ [name]: value }))).toThrow(name);
  });
});
