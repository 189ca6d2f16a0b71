import { describe, expect, it } from 'vitest';
import { type ClusterEndpoint, TargetPolicy } from './target-policy.js';

const CLUSTER: readonly ClusterEndpoint[] = [
  { name: 'ZooKeeper', host: '127.0.0.1', port: 2181 },
  { name: 'Kafka', host: 'kafka-1.internal', port: 9092 },
  { name: 'API', host: '0.0.0.0', port: 7200 },
];
const policy = (entries: readonly string[]): TargetPolicy => new TargetPolicy(entries, CLUSTER, 'ALLOW');

describe('target policy', () => {
  const legacy = policy(['127.0.0.1', 'LocalHost', '*.example.com', '::1', 'kafka-1.internal']);
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
    // The cluster's own endpoints, whatever name reaches them.
    ['http://127.0.0.1:2181/', false],
    ['http://localhost:2181/', false],
    ['http://127.0.0.2:2181/', false],
    ['http://2130706433:2181/', false],
    ['http://0x7f.1:2181/', false],
    ['http://[::1]:2181/', false],
    ['http://[::ffff:127.0.0.1]:2181/', false],
    ['http://localhost.:2181/', false],
    ['http://kafka-1.internal:9092/', false],
    ['http://KAFKA-1.internal:9092/', false],
    ['http://kafka-1.internal:9093/', true],
    ['http://127.0.0.1:7200/api', false],
    ['http://localhost:7200/api', false],
  ])('bare hosts (any port but the cluster’s): %s allowed: %s', (url, allowed) => {
    expect(legacy.check(url).length === 0).toBe(allowed);
  });

  const strict = policy([
    '127.0.0.1:7500',
    'https://*.example.com',
    'worker.internal:*',
    'http://[::1]:8080',
  ]);
  it.each([
    ['http://127.0.0.1:7500/hook', true],
    ['http://127.0.0.1:7501/hook', false],
    ['https://127.0.0.1:7500/hook', true],
    ['https://a.example.com/', true],
    ['https://a.example.com:443/', true],
    ['https://a.example.com:8443/', false],
    ['http://a.example.com/', false],
    ['http://worker.internal:1234/', true],
    ['http://[::1]:8080/', true],
    ['https://[::1]:8080/', false],
  ])('host:port and scheme entries: %s allowed: %s', (url, allowed) => {
    expect(strict.check(url).length === 0).toBe(allowed);
  });

  it('names the field in its issue', () => {
    expect(strict.check('http://10.0.0.1/', 'target.url')).toEqual([
      expect.objectContaining({ field: 'target.url' }),
    ]);
  });

  it.each(['127.0.0.1:2181', 'localhost:7200', 'http://127.0.0.1:2181', 'kafka-1.internal:9092'])(
    'refuses to start with an entry naming a cluster endpoint: %s',
    (entry) => {
      expect(() => policy([entry])).toThrow(/ALLOW entry .* cluster's own endpoints/);
    },
  );

  it.each(['ftp://host', 'host:99999', 'host:port', 'a*b.example.com', 'http://', 'host/path'])(
    'refuses to start with a malformed entry: %s',
    (entry) => {
      expect(() => policy([entry])).toThrow(/ALLOW entry/);
    },
  );
});
