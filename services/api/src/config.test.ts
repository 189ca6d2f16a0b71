import { EnvReader } from '@nono/runtime';
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from './config.js';

describe('configuration', () => {
  it('has defaults', () => {
    const config = loadApiConfig(new EnvReader({}));
    expect(config).toMatchObject({
      port: 7200,
      host: '127.0.0.1',
      historyUrls: ['http://127.0.0.1:7300'],
      historyMaxLag: 1000,
      historyProbeIntervalMs: 2000,
      tokens: [],
      trustProxy: [],
    });
  });
  it('names the proxies it trusts', () => {
    const config = loadApiConfig(
      new EnvReader({ NONO_API_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1,fd00::/8,loopback' }),
    );
    expect(config.trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', 'loopback']);
  });
  it.each([
    [{ NONO_HISTORY_URL: 'http://history:7300/' }, ['http://history:7300']],
    [
      { NONO_HISTORY_URLS: 'http://h1:7300, http://h2:7300/', NONO_HISTORY_URL: 'http://old:7300' },
      ['http://h1:7300', 'http://h2:7300'],
    ],
    [{ NONO_HISTORY_URLS: ' , ', NONO_HISTORY_URL: 'http://one:7300' }, ['http://one:7300']],
  ])('reads the history replicas from %j', (env, urls) => {
    expect(loadApiConfig(new EnvReader(env)).historyUrls).toEqual(urls);
  });
  it.each([
    ['NONO_API_PORT', 'eighty'],
    ['NONO_HISTORY_URLS', 'http://h1:7300,ftp://h2'],
    ['NONO_HISTORY_URLS', 'http://h1:7300,http://h1:7300/'],
    ['NONO_HISTORY_MAX_LAG', '-1'],
    ['NONO_HISTORY_PROBE_INTERVAL_MS', '10'],
    ['NONO_API_TOKENS', 'admin:short'],
    ['NONO_SECRETS_KEY', Buffer.alloc(16).toString('base64')],
    ['NONO_HISTORY_URL', 'ftp://x'],
    ['NONO_API_TRUST_PROXY', 'true'],
    ['NONO_API_TRUST_PROXY', '*'],
    ['NONO_API_TRUST_PROXY', '10.0.0.0/33'],
    ['NONO_API_TRUST_PROXY', 'proxy.internal'],
    ['NONO_ALLOWED_TARGET_HOSTS', 'ftp://worker.internal'],
    ['NONO_ALLOWED_TARGET_HOSTS', '127.0.0.1:2181'],
    ['NONO_ALLOWED_TARGET_HOSTS', 'localhost:7300'],
    ['NONO_ZK_AUTH', 'no-colon'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadApiConfig(new EnvReader({ [name]: value }))).toThrow(name);
  });
});
