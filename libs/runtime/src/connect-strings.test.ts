import { describe, expect, it } from 'vitest';
import { parseKafkaBrokers, parseZkConnect } from './connect-strings.js';
import { EnvReader, loadCommonConfig } from './env-reader.js';

describe('multi-host connect strings', () => {
  it.each([
    ['127.0.0.1:2181', '127.0.0.1:2181'],
    ['zk1:2181,zk2:2181,zk3:2181', 'zk1:2181,zk2:2181,zk3:2181'],
    // spaces after commas are dropped
    ['zk1:2181, zk2:2181 ,zk3:2181/nono-prod', 'zk1:2181,zk2:2181,zk3:2181/nono-prod'],
    ['10.0.0.1:2181,10.0.0.2:2182/tenants/a', '10.0.0.1:2181,10.0.0.2:2182/tenants/a'],
  ])('takes the ZooKeeper ensemble %s', (raw, parsed) => {
    expect(parseZkConnect(raw)).toBe(parsed);
  });

  it.each([
    ['zk1', '"zk1" is not host:port'],
    ['zk1:2181,zk2', '"zk2" is not host:port'],
    ['zk1:2181,,zk2:2181', 'an empty entry is not host:port'],
    ['zk1:99999', '"zk1:99999" is not host:port'],
    ['zk1:2181/', 'the chroot "/" must be a path'],
    ['zk1:2181/a b', 'the chroot "/a b" must be a path'],
  ])('refuses the ZooKeeper connect string %s, naming the variable', (raw, message) => {
    expect(() => parseZkConnect(raw)).toThrow(`NONO_ZK_CONNECT=${JSON.stringify(raw)} is not valid`);
    expect(() => parseZkConnect(raw)).toThrow(message);
  });

  it('takes a list of brokers, trimmed', () => {
    expect(parseKafkaBrokers('k1:9092, k2:9092,k3:9092')).toEqual(['k1:9092', 'k2:9092', 'k3:9092']);
    expect(() => parseKafkaBrokers('k1:9092,k2')).toThrow(
      'NONO_KAFKA_BROKERS="k1:9092,k2" is not valid: "k2" is not host:port',
    );
  });
});

describe('the settings every service shares', () => {
  it('reads the ensemble and the brokers every service connects to', () => {
    const config = loadCommonConfig(
      new EnvReader({
        NONO_ZK_CONNECT: '127.0.0.1:2281, 127.0.0.1:2282,127.0.0.1:2283',
        NONO_KAFKA_BROKERS: '127.0.0.1:9192,127.0.0.1:9193, 127.0.0.1:9194',
      }),
    );
    expect(config.zkConnect).toBe('127.0.0.1:2281,127.0.0.1:2282,127.0.0.1:2283');
    expect(config.kafkaBrokers).toEqual(['127.0.0.1:9192', '127.0.0.1:9193', '127.0.0.1:9194']);
  });

  it('leaves the replication of new topics to the cluster size unless it is set', () => {
    expect(loadCommonConfig(new EnvReader({})).kafkaReplication).toEqual({
      replicationFactor: undefined,
      minInsyncReplicas: undefined,
    });
    expect(
      loadCommonConfig(
        new EnvReader({ NONO_KAFKA_REPLICATION_FACTOR: '3', NONO_KAFKA_MIN_INSYNC_REPLICAS: '2' }),
      ).kafkaReplication,
    ).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
  });

  it.each([
    [{ NONO_KAFKA_REPLICATION_FACTOR: 'three' }, 'NONO_KAFKA_REPLICATION_FACTOR="three" is not valid'],
    [{ NONO_KAFKA_MIN_INSYNC_REPLICAS: '0' }, 'NONO_KAFKA_MIN_INSYNC_REPLICAS="0" is not valid'],
    [
      { NONO_KAFKA_REPLICATION_FACTOR: '2', NONO_KAFKA_MIN_INSYNC_REPLICAS: '3' },
      'NONO_KAFKA_MIN_INSYNC_REPLICAS=3 is not valid: expected at most NONO_KAFKA_REPLICATION_FACTOR (2)',
    ],
    [{ NONO_ZK_CONNECT: 'zk1:2181, zk2' }, 'NONO_ZK_CONNECT="zk1:2181, zk2" is not valid'],
  ])('refuses %j', (env, message) => {
    expect(() => loadCommonConfig(new EnvReader(env))).toThrow(message);
  });
});
