import { EnvReader } from '@nono/runtime';
import { describe, expect, it } from 'vitest';
import { loadHistoryConfig } from './config.js';

describe('history configuration', () => {
  it('has one database and one consumer group without a replica name', () => {
    const config = loadHistoryConfig(new EnvReader({}));
    expect(config).toMatchObject({
      replica: undefined,
      dbFile: '.nono/history.sqlite',
      groupId: 'nono-history',
    });
  });

  it.each([
    [{ NONO_HISTORY_REPLICA: 'a' }, '.nono/history-a.sqlite', 'nono-history-a'],
    [
      { NONO_HISTORY_REPLICA: 'b', NONO_HISTORY_GROUP_ID: 'prod-history' },
      '.nono/history-b.sqlite',
      'prod-history-b',
    ],
    [
      { NONO_HISTORY_REPLICA: 'eu-1', NONO_HISTORY_DB: '/var/lib/nono/history.sqlite' },
      '/var/lib/nono/history.sqlite',
      'nono-history-eu-1',
    ],
  ])('a replica name makes the group and the default file its own: %j', (env, dbFile, groupId) => {
    expect(loadHistoryConfig(new EnvReader(env))).toMatchObject({ dbFile, groupId });
  });

  it('gives two replicas configured alike but for their names two consumer groups', () => {
    const shared = { NONO_HISTORY_GROUP_ID: 'nono-history' };
    const a = loadHistoryConfig(new EnvReader({ ...shared, NONO_HISTORY_REPLICA: 'a' }));
    const b = loadHistoryConfig(new EnvReader({ ...shared, NONO_HISTORY_REPLICA: 'b' }));
    expect(a.groupId).not.toBe(b.groupId);
    expect(a.dbFile).not.toBe(b.dbFile);
  });

  it.each(['A', '-a', 'a/b', 'a.b', 'x'.repeat(33)])(
    'refuses NONO_HISTORY_REPLICA=%s, naming it',
    (value) => {
      expect(() => loadHistoryConfig(new EnvReader({ NONO_HISTORY_REPLICA: value }))).toThrow(
        'NONO_HISTORY_REPLICA',
      );
    },
  );
});
