import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNono } from '../support/api.js';
import { eventually, isolate } from '../support/fixtures.js';
import { type OperatedCluster, startOperatedCluster } from '../support/operated-cluster.js';
import { type TestWorker, freePort, startTestWorker } from '../support/processes.js';

const ADMIN = 'member-results-admin';
const RUNS = 6;

interface MemberResult {
  group: string;
  url: string;
  attempts: number;
  succeeded: number;
  failed: number;
  inProgress: number;
  successRate: number | null;
  lastStatus: string | null;
  lastStartedAt: string | null;
}

/**
 * History's reports per worker group member, on real processes (API, scheduler, two worker
 * processes and a member nothing listens on, Kafka, history): every attempt is counted for the
 * member its facts name, in the group's report, the task's report and the execution's attempts,
 * and `nono report --group` prints them.
 */
describe('results per group member', () => {
  let env: OperatedCluster;
  let second: TestWorker;

  beforeAll(async () => {
    env = await startOperatedCluster(await isolate('member-results'), { schedulers: ['mr1'], admin: ADMIN });
    second = await startTestWorker({ name: 'worker-b' });
  });
  afterAll(async () => {
    await second?.process.kill();
    await env?.stop();
  });

  it('breaks attempts down per member in the reports, the execution and the CLI', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const members = [env.cluster.worker.url, second.url, dead];
    const group = await env.call('POST', '/worker-groups', {
      name: 'mixed',
      members: members.map((url) => ({ url })),
    });
    expect(group.status, JSON.stringify(group.body)).toBe(201);
    const task = await env.call('POST', '/tasks', {
      id: 'spread',
      name: 'spread',
      schedule: { kind: 'interval', everyMs: 3_600_000 },
      target: { group: 'mixed', route: 'round-robin', path: '/ok/spread', timeoutMs: 2_000 },
      retry: { maxAttempts: 3, initialBackoffMs: 100 },
    });
    expect(task.status, JSON.stringify(task.body)).toBe(201);
    const executionIds: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const triggered = await env.call('POST', '/tasks/spread/trigger', { requestId: `run-${i}` });
      expect(triggered.status).toBe(202);
      executionIds.push((triggered.body as { executionId: string }).executionId);
    }
    const outcomes = await eventually(
      () => {
        const done = env.facts.filter(
          (e) => e.type === 'nono.execution.succeeded.v1' && executionIds.includes(e.data.executionId),
        );
        return done.length === RUNS ? done : undefined;
      },
      60_000,
      'every run to succeed',
    );
    expect(outcomes).toHaveLength(RUNS);
    // What the facts say each member got: the reference the reports must match.
    const expected = new Map<string, { attempts: number; succeeded: number; failed: number }>();
    for (const fact of env.facts) {
      const data = fact.data as { executionId?: string; member?: { url: string } };
      if (
        data.executionId === undefined ||
        !executionIds.includes(data.executionId) ||
        data.member === undefined
      )
        continue;
      const entry = expected.get(data.member.url) ?? { attempts: 0, succeeded: 0, failed: 0 };
      if (fact.type === 'nono.execution.fired.v1') entry.attempts++;
      if (fact.type === 'nono.execution.succeeded.v1') entry.succeeded++;
      if (fact.type === 'nono.execution.failed.v1') entry.failed++;
      expected.set(data.member.url, entry);
    }
    console.log(`per member from the facts: ${JSON.stringify([...expected])}`);
    expect(expected.get(dead)?.failed ?? 0).toBeGreaterThan(0);
    expect(expected.get(dead)?.succeeded ?? 0).toBe(0);

    const since = new Date(Date.now() - 3_600_000).toISOString();
    const report = await eventually(
      async () => {
        const { body } = await env.call('GET', `/reports/groups/mixed?from=${encodeURIComponent(since)}`);
        const shown = (body as { members?: MemberResult[] }).members ?? [];
        const attempts = shown.reduce((sum, m) => sum + m.attempts, 0);
        const expectedAttempts = [...expected.values()].reduce((sum, m) => sum + m.attempts, 0);
        return attempts === expectedAttempts && shown.every((m) => m.inProgress === 0) ? shown : undefined;
      },
      30_000,
      'history to count every attempt',
    );
    for (const member of report) {
      expect(member.group).toBe('mixed');
      expect({ attempts: member.attempts, succeeded: member.succeeded, failed: member.failed }).toEqual(
        expected.get(member.url),
      );
    }
    expect(report.find((m) => m.url === dead)).toMatchObject({ successRate: 0, lastStatus: 'failed' });

    const taskReport = (await env.call('GET', '/reports/tasks/spread')).body as { members: MemberResult[] };
    expect(taskReport.members.map((m) => [m.url, m.attempts])).toEqual(
      report.map((m) => [m.url, m.attempts]),
    );

    const detail = (await env.call('GET', `/executions/${executionIds[0]}`)).body as {
      attemptHistory: Array<{ member: { group: string; url: string } | null }>;
    };
    expect(detail.attemptHistory.length).toBeGreaterThan(0);
    for (const attempt of detail.attemptHistory) expect(attempt.member?.group).toBe('mixed');

    const cli = await runNono(env.api.url, ADMIN, ['report', '--group', 'mixed']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^GROUP\s+MEMBER\s+ATTEMPTS/);
    expect(cli.stdout).toContain(dead);
    const cliTask = await runNono(env.api.url, ADMIN, ['report', '--task', 'spread']);
    expect(cliTask.stdout).toContain('per member:');
  });
});
