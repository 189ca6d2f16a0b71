import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, runNono, startApiProcess } from '../support/api.js';
import { collectEvents, type TestCluster, startTestCluster } from '../support/cluster.js';
import { eventually, isolate } from '../support/fixtures.js';

const ADMIN = 'trigger-parameters-admin';

/**
 * A manual trigger with parameters, through the real API, scheduler and worker: the worker
 * receives them (under `parameters` in the default body, merged into a fixed JSON body), the
 * audit and the fired fact record them, and what cannot carry them is refused with a 422.
 */
describe('trigger with parameters', () => {
  let cluster: TestCluster;
  let api: ApiProcess;

  beforeAll(async () => {
    cluster = await startTestCluster(await isolate('trigger-parameters'), { schedulers: ['tp1'] });
    api = await startApiProcess(cluster.iso, { admin: ADMIN });
  });
  afterAll(async () => {
    await api?.kill();
    await cluster?.stop();
  });

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${api.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  async function define(id: string, target: Record<string, unknown>): Promise<void> {
    const response = await call('POST', '/tasks', {
      id,
      name: id,
      schedule: { kind: 'interval', everyMs: 3_600_000 },
      target: { url: `${cluster.worker.url}/ok/${id}`, ...target },
    });
    expect(response.status).toBe(201);
  }

  it('sends them to the worker, records them, and refuses what cannot carry them', async () => {
    await define('params-default', {});
    await define('params-fixed', { body: '{"job":"export","n":1}' });
    await define('params-get', { method: 'GET' });
    const tasksLog = await collectEvents(cluster.iso, cluster.iso.topics.tasks);
    const executionsLog = await collectEvents(cluster.iso, cluster.iso.topics.executions);
    try {
      const parameters = { region: 'eu-west', n: 2, options: { dryRun: false } };
      const accepted = await call('POST', '/tasks/params-default/trigger', { parameters });
      expect(accepted.status).toBe(202);
      const { executionId } = (await accepted.json()) as { executionId: string };
      expect((await call('POST', '/tasks/params-fixed/trigger', { parameters: { n: 5 } })).status).toBe(202);

      const calls = await eventually(
        async () => {
          const all = await cluster.worker.calls();
          const byTask = (id: string) => all.find((c) => c.taskId === id);
          const [a, b] = [byTask('params-default'), byTask('params-fixed')];
          return a !== undefined && b !== undefined ? { a, b } : undefined;
        },
        20_000,
        'both manual calls',
      );
      expect(JSON.parse(calls.a.body)).toMatchObject({ taskId: 'params-default', executionId, parameters });
      expect(JSON.parse(calls.b.body)).toEqual({ job: 'export', n: 5 });

      const triggered = await eventually(
        () =>
          tasksLog.events.find((e) => e.type === 'nono.task.triggered.v1' && e.subject === 'params-default'),
        20_000,
        'the audit event',
      );
      expect(triggered.data).toMatchObject({ executionId, parameters });
      const fired = await eventually(
        () =>
          executionsLog.events.find(
            (e) => e.type === 'nono.execution.fired.v1' && e.subject === 'params-default',
          ),
        20_000,
        'the fired fact',
      );
      expect(fired.data).toMatchObject({ executionId, reason: 'manual', parameters });

      for (const [taskId, body, message] of [
        ['params-get', { parameters: { a: 1 } }, /GET/],
        ['params-default', { parameters: { blob: 'x'.repeat(9_000) } }, /at most 8192/],
      ] as const) {
        const refused = await call('POST', `/tasks/${taskId}/trigger`, body);
        expect(refused.status).toBe(422);
        expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        const problem = (await refused.json()) as {
          code: string;
          errors: Array<{ field: string; message: string }>;
        };
        expect(problem.code).toBe('NONO_INVALID_TRIGGER_PARAMETERS');
        expect(problem.errors[0]?.field).toBe('parameters');
        expect(problem.errors[0]?.message).toMatch(message);
      }
      // The CLI sends them too, and says what is wrong with a value that is not a JSON object.
      const cli = await runNono(api.url, ADMIN, [
        'tasks',
        'trigger',
        'params-fixed',
        '--parameters',
        '{"n":7}',
      ]);
      expect(cli.code).toBe(0);
      await eventually(
        async () =>
          (await cluster.worker.calls()).some(
            (c) => c.taskId === 'params-fixed' && JSON.parse(c.body).n === 7,
          ) || undefined,
        20_000,
        'the call the CLI asked for',
      );
      const bad = await runNono(api.url, ADMIN, ['tasks', 'trigger', 'params-fixed', '--parameters', '[1]']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/--parameters must be a JSON object/);
      // An array is not an object: the schema refuses it before any task is read.
      expect((await call('POST', '/tasks/params-default/trigger', { parameters: [1, 2] })).status).toBe(400);
    } finally {
      await tasksLog.stop();
      await executionsLog.stop();
    }
  });
});
