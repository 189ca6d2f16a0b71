import {
  ZkClient,
  ZnodeLayout,
  apiTokenDocument,
  assignmentDocument,
  fireStateDocument,
  memberDocument,
  openExecutionsRecordDocument,
  outboxEntryDocument,
  memberLeaseDocument,
  triggerRequestDocument,
  backfillDocument,
  workerGroupDocument,
  workerHealthDocument,
} from '@nono/coordination';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Isolation, isolate } from '../support/fixtures.js';

/**
 * Every ZooKeeper document through a real server: what one side encodes, the other parses to
 * the same value (no field dropped), and a document that does not match its schema is refused
 * with the field named.
 */
describe('ZooKeeper documents round trip (real server)', () => {
  let iso: Isolation;
  let zk: ZkClient;
  const layout = new ZnodeLayout('/nono');

  beforeAll(async () => {
    iso = await isolate('znode-documents');
    zk = await ZkClient.connect({ connect: iso.zkConnect, sessionTimeoutMs: 6_000 });
    for (const parent of [...layout.parents, layout.outbox, layout.workerLeasesOf('reports')])
      await zk.ensurePath(parent);
  });
  afterAll(() => zk?.close());

  const samples = [
    {
      path: layout.fireState('t1'),
      document: fireStateDocument,
      value: {
        taskIncarnation: '2026-12-01T00:00:00.000Z',
        lastNominal: 1_796_000_000_000,
        runCount: 7,
        firedBy: 's1',
        inflight: {
          'e-1': {
            nominal: 1_796_000_000_000,
            schedulerId: 's1',
            startedAt: 1_796_000_000_000,
            deadlineAt: 1_796_000_030_000,
            reason: 'scheduled' as const,
            fencingToken: 0,
            incarnation: 'abc',
            seq: 3,
            taskIncarnation: '2026-12-01T00:00:00.000Z',
          },
        },
        manualDone: ['req-1', 'req-2'],
      },
    },
    {
      path: layout.assignment,
      document: assignmentDocument,
      value: {
        generation: 3,
        members: ['s1', 's2'],
        owners: { s1: ['t1'], s2: [] },
        updatedAt: 'x',
        writtenBy: 's1',
      },
    },
    {
      path: layout.scheduler('s1'),
      document: memberDocument,
      value: {
        id: 's1',
        host: 'h',
        pid: 42,
        version: '0.1.0',
        startedAt: '2026-12-01T00:00:00.000Z',
        opsUrl: 'http://127.0.0.1:7400',
      },
    },
    {
      path: layout.openExecutionsOf('s1'),
      document: openExecutionsRecordDocument,
      value: { incarnation: 'abc', seq: 9, open: [[1, 3] as [number, number], [7, 7] as [number, number]] },
    },
    {
      path: layout.trigger('t1', 'req-3'),
      document: triggerRequestDocument,
      value: { requestId: 'req-3', actor: 'token:ab12', requestedAt: '2026-12-01T00:00:00.000Z' },
    },
    {
      path: layout.backfill('t1', 'bf-1'),
      document: backfillDocument,
      value: {
        backfillId: 'bf-1',
        taskId: 't1',
        taskIncarnation: '2026-11-30T00:00:00.000Z',
        revision: 3,
        requestedBy: { id: 'oncall', kind: 'token' },
        requestedAt: '2026-12-01T00:00:00.000Z',
        from: '2026-11-30T00:00:00.000Z',
        to: '2026-11-30T23:59:00.000Z',
        force: false,
        ratePerSecond: 10,
        concurrency: 4,
        instants: [[1_796_000_000_000, 60_000, 1_430]],
        total: 1_430,
        alreadySucceeded: 10,
        attempts: [[0, 2, 5]],
        state: 'running',
        cursor: 12,
        inflight: { '10': { schedulerId: 's1', incarnation: 'ab12', claimedAt: 1_796_000_100_000 } },
        succeeded: 9,
        failed: 1,
        lost: [1_796_000_660_000],
        updatedAt: '2026-12-01T00:00:01.000Z',
      },
    },
    {
      path: `${layout.outbox}/e-0000000001`,
      document: outboxEntryDocument,
      value: { event: { any: 'event' }, stagedAt: 1_796_000_000_000, committed: true },
    },
    {
      path: layout.apiToken('ci-deploy'),
      document: apiTokenDocument,
      value: {
        name: 'ci-deploy',
        role: 'operator' as const,
        sha256: 'a'.repeat(64),
        createdAt: '2026-12-01T00:00:00.000Z',
        createdBy: 'admin:0123456789ab',
        expiresAt: '2027-01-01T00:00:00.000Z',
        lastUsedAt: null,
      },
    },
    {
      path: layout.workerGroup('reports'),
      document: workerGroupDocument,
      value: {
        name: 'reports',
        createdAt: '2026-12-01T00:00:00.000Z',
        updatedAt: '2026-12-01T00:00:00.000Z',
        revision: 2,
        description: 'report renderers',
        members: [{ url: 'http://127.0.0.1:7761' }, { url: 'http://127.0.0.1:7762/base' }],
        leaseMs: 15_000,
        passiveHealth: { consecutiveFailures: 3, backoffMs: 30_000 },
      },
    },
    {
      path: layout.workerLease('reports', 'host-a-7763'),
      document: memberLeaseDocument,
      value: {
        memberId: 'host-a-7763',
        url: 'http://127.0.0.1:7763',
        leaseMs: 15_000,
        registeredAt: '2026-12-01T00:00:00.000Z',
        renewedAt: '2026-12-01T00:00:05.000Z',
        expiresAt: '2026-12-01T00:00:20.000Z',
        registeredBy: 'ci-worker',
      },
    },
    {
      path: layout.workerHealthOf('s1'),
      document: workerHealthDocument,
      value: {
        schedulerId: 's1',
        updatedAt: '2026-12-01T00:00:00.000Z',
        ejected: [
          {
            group: 'reports',
            url: 'http://127.0.0.1:7761',
            until: '2026-12-01T00:00:30.000Z',
            failures: 3,
            lastError: 'ECONNREFUSED',
          },
        ],
      },
    },
  ];

  it.each(samples.map((sample) => [sample.document.name, sample] as const))(
    '%s: encode → ZooKeeper → parse gives the same value',
    async (_name, sample) => {
      // A generic encode over a union of documents: each sample pairs a document with its own value.
      const document = sample.document as { encode(value: unknown): Buffer };
      await zk.create(sample.path, document.encode(sample.value));
      const { data } = await zk.get(sample.path);
      const parsed = sample.document.parse(data);
      expect(parsed).toEqual({ ok: true, value: sample.value });
    },
  );

  it('a fire state missing a field or with a wrong type is refused, naming the field', async () => {
    await zk.create(layout.fireState('bad'), JSON.stringify({ lastNominal: 'soon', inflight: {} }));
    const parsed = fireStateDocument.parse((await zk.get(layout.fireState('bad'))).data);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? [] : parsed.issues.map((issue) => issue.field)).toContain('lastNominal');
  });

  it('an API token with a hash that is not 64 lower-case hex digits is refused, naming the field', () => {
    const parsed = apiTokenDocument.parse(
      Buffer.from(
        JSON.stringify({
          name: 'x',
          role: 'admin',
          sha256: 'secret-in-clear',
          createdAt: 'x',
          createdBy: 'y',
          expiresAt: null,
          lastUsedAt: null,
        }),
      ),
    );
    expect(parsed.ok ? [] : parsed.issues.map((issue) => issue.field)).toContain('sha256');
  });

  it('an older fire state without the newer fields reads with their defaults', () => {
    const parsed = fireStateDocument.parse(
      Buffer.from(JSON.stringify({ lastNominal: 5, runCount: 1, inflight: {} })),
    );
    expect(parsed).toEqual({
      ok: true,
      value: { lastNominal: 5, runCount: 1, inflight: {}, manualDone: [] },
    });
  });
});
