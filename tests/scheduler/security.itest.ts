import { type ZkClient, isZkError } from '@nono/coordination';
import { type SchedulerTask } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SchedulerProcess,
  type TestCluster,
  buildTask,
  layout,
  putTask,
  startTestCluster,
} from '../support/cluster.js';
import { eventually, isolate } from '../support/fixtures.js';
import { type RunningProcess, startExampleWorker } from '../support/processes.js';

/**
 * Whoever can write ZooKeeper bypasses the API: the scheduler re-validates every definition
 * with the API's rules (allow-list included), and with NONO_ZK_AUTH set nobody without the
 * credentials can write (or read) the nono root at all.
 */
const ZK_AUTH = 'nono:scheduler-test-secret';

describe('a scheduler refuses definitions the API would refuse', () => {
  let cluster: TestCluster;
  let zk: ZkClient;
  let scheduler: SchedulerProcess;

  beforeAll(async () => {
    cluster = await startTestCluster(await isolate('sched-security'), {
      schedulers: ['s1'],
      env: { NONO_ZK_AUTH: ZK_AUTH, NONO_ALLOWED_TARGET_HOSTS: '127.0.0.1' },
      zkAuth: ZK_AUTH,
    });
    zk = cluster.zk;
    scheduler = cluster.schedulers[0] as SchedulerProcess;
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const everySecond = (id: string, url: string): SchedulerTask =>
    buildTask(id, { schedule: { kind: 'cron', expression: '* * * * * *' }, target: { url } });
  const withHeaders = (task: SchedulerTask, headers: Record<string, string>): SchedulerTask => ({
    ...task,
    target: { ...task.target, headers },
  });

  it('fires a valid task, skips the rest with a log line naming the field', async () => {
    const { url } = cluster.worker;
    await putTask(zk, everySecond('valid', `${url}/ok/valid`));
    await putTask(
      zk,
      withHeaders(everySecond('fencing-header', `${url}/ok/f`), { 'Nono-Fencing-Token': '9' }),
    );
    await putTask(zk, withHeaders(everySecond('idem-header', `${url}/ok/i`), { 'Idempotency-Key': 'x' }));
    await putTask(zk, withHeaders(everySecond('crlf-header', `${url}/ok/c`), { 'X-A': 'a\r\nX-B: b' }));
    // The ZooKeeper this cluster runs on (not always 2181): one of the cluster's own endpoints.
    const zkHostPort = (cluster.iso.zkConnect.split('/')[0] ?? '').split(',')[0] ?? '';
    await putTask(zk, everySecond('zookeeper-port', `http://${zkHostPort}/`));
    await putTask(zk, everySecond('other-host', 'http://10.255.255.1/'));

    for (const [taskId, field] of [
      ['fencing-header', 'target.headers.Nono-Fencing-Token'],
      ['idem-header', 'target.headers.Idempotency-Key'],
      ['crlf-header', 'target.headers.X-A'],
      ['zookeeper-port', 'target.url'],
      ['other-host', 'target.url'],
    ] as const) {
      const line = await scheduler.waitForLine(new RegExp(`"taskId":"${taskId}".*invalid`), 15_000);
      expect(line).toContain(field);
    }
    await eventually(
      async () => ((await cluster.worker.calls()).some((call) => call.taskId === 'valid') ? true : undefined),
      15_000,
      'the valid task to fire',
    );
    const called = new Set((await cluster.worker.calls()).map((call) => call.taskId));
    expect([...called]).toEqual(['valid']);
  });

  it('with NONO_ZK_AUTH, a client without the credentials cannot touch what the scheduler wrote', async () => {
    const { ZkClient: Client } = await import('@nono/coordination');
    const outsider = await Client.connect({ connect: cluster.iso.zkConnect, sessionTimeoutMs: 10_000 });
    const attempt = async (work: Promise<unknown>): Promise<string> =>
      work.then(
        () => 'allowed',
        (error: unknown) => (isZkError(error) ? error.codeName : String(error)),
      );
    try {
      expect(await attempt(outsider.get(layout.scheduler('s1')))).toBe('ZNOAUTH');
      expect(await attempt(outsider.create(layout.task('planted'), '{}'))).toBe('ZNOAUTH');
      expect(await attempt(outsider.set(layout.task('valid'), '{}', -1))).toBe('ZNOAUTH');
      expect(await attempt(outsider.set(layout.assignment, '{}', -1))).toBe('ZNOAUTH');
    } finally {
      outsider.close();
    }
  });
});

describe('signed calls (Standard Webhooks)', () => {
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const otherSecret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
  let cluster: TestCluster;
  const workers: RunningProcess[] = [];

  const exampleWorker = async (name: string, secrets: string) => {
    const worker = await startExampleWorker(name, secrets);
    workers.push(worker.proc);
    return worker;
  };

  beforeAll(async () => {
    cluster = await startTestCluster(await isolate('sched-signed'), {
      schedulers: ['w1'],
      // The old and the new secret, as during a rotation.
      env: { NONO_WEBHOOK_SECRETS: `${otherSecret},${secret}` },
    });
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    await cluster?.stop();
  });

  it('a worker with one of the two secrets runs the calls; one with another secret, or an unsigned call, is refused', async () => {
    const verifying = await exampleWorker('worker-verifying', secret);
    const stranger = await exampleWorker(
      'worker-stranger',
      `whsec_${Buffer.alloc(32, 3).toString('base64')}`,
    );
    await putTask(
      cluster.zk,
      buildTask('signed', {
        schedule: { kind: 'cron', expression: '* * * * * *' },
        target: { url: `${verifying.url}/jobs/ok` },
      }),
    );
    await putTask(
      cluster.zk,
      buildTask('unknown-secret', {
        schedule: { kind: 'cron', expression: '* * * * * *' },
        target: { url: `${stranger.url}/jobs/ok` },
      }),
    );
    await eventually(
      async () => {
        const state = (await (await fetch(`${verifying.url}/state`)).json()) as {
          counts: { ok?: { succeeded: number } };
        };
        return (state.counts.ok?.succeeded ?? 0) >= 2 ? true : undefined;
      },
      20_000,
      'the verifying worker to run two signed calls',
    );
    await stranger.proc.waitForLine(/refused an unverified call/, 20_000);

    // The same call as nono would send it, but unsigned, or with its body changed: refused.
    const body = JSON.stringify({ taskId: 'signed' });
    const unsigned = await fetch(`${verifying.url}/jobs/ok`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'x-1' },
      body,
    });
    expect(unsigned.status).toBe(401);
  });
});
