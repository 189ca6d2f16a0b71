import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNono } from '../support/api.js';
import { eventually, isolate } from '../support/fixtures.js';
import { type OperatedCluster, startOperatedCluster } from '../support/operated-cluster.js';

const ADMIN = 'parameters-history-admin';

/**
 * A manual run's trigger parameters, through a real API, scheduler, worker, Kafka and history:
 * history keeps them on the execution (from its fired fact) and the API's execution list and
 * detail and the CLI show them; a scheduled run has none.
 */
describe('trigger parameters in history', () => {
  let env: OperatedCluster;

  beforeAll(async () => {
    env = await startOperatedCluster(await isolate('parameters-history'), {
      schedulers: ['ph1'],
      admin: ADMIN,
    });
  });
  afterAll(() => env?.stop());

  it('keeps them on the execution and shows them in the API and the CLI', async () => {
    const created = await env.call('POST', '/tasks', {
      id: 'report-export',
      name: 'export',
      schedule: { kind: 'interval', everyMs: 3_600_000 },
      target: { url: `${env.cluster.worker.url}/ok/report-export` },
    });
    expect(created.status).toBe(201);
    const parameters = { region: 'eu-west', rows: 3, options: { dryRun: true } };
    const triggered = await env.call('POST', '/tasks/report-export/trigger', { parameters });
    expect(triggered.status).toBe(202);
    const { executionId } = triggered.body as { executionId: string };
    const plain = await env.call('POST', '/tasks/report-export/trigger', {});
    const plainId = (plain.body as { executionId: string }).executionId;

    const detail = await eventually(
      async () => {
        const { body } = await env.call('GET', `/executions/${executionId}`);
        return (body as { status?: string }).status === 'succeeded'
          ? (body as Record<string, unknown>)
          : undefined;
      },
      30_000,
      'history to show the manual run',
    );
    expect(detail).toMatchObject({ executionId, reason: 'manual', parameters });
    const list = await eventually(
      async () => {
        const { body } = await env.call('GET', '/tasks/report-export/executions');
        const items = (body as { items: Array<Record<string, unknown>> }).items;
        return items.length === 2 && items.every((item) => item['status'] === 'succeeded')
          ? items
          : undefined;
      },
      30_000,
      'both runs in the list',
    );
    expect(list.find((item) => item['executionId'] === executionId)?.['parameters']).toEqual(parameters);
    expect(list.find((item) => item['executionId'] === plainId)?.['parameters']).toBeNull();

    const cli = await runNono(env.api.url, ADMIN, ['execution', executionId]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('trigger parameters:');
    expect(cli.stdout).toContain('"region": "eu-west"');
    const json = await runNono(env.api.url, ADMIN, ['execution', executionId, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ parameters });
  });
});
