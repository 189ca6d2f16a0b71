import { readFileSync } from 'node:fs';
import { type NonoEvent } from '@nono/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNono } from '../support/api.js';
import { eventually, isolate } from '../support/fixtures.js';
import { type OperatedCluster, startOperatedCluster } from '../support/operated-cluster.js';

const ADMIN = 'captured-output-admin';
/** In every body the worker sends: it must reach the facts and history, never a log line. */
const MARKER = `body-marker-${Math.random().toString(16).slice(2)}`;

interface Output {
  body: string;
  encoding: string;
  bytes: number;
  truncated: boolean;
  headers: Record<string, string>;
}

/**
 * Captured output on real processes (API, scheduler, worker, Kafka, history): what a task's
 * `target.capture` asks for is kept on the attempt's fact, projected by history, shown by the
 * API and the CLI; long bodies are cut and marked, bodies that are not UTF-8 kept as base64,
 * tasks that capture nothing carry nothing, and no body reaches the scheduler's or history's log.
 */
describe('captured output', () => {
  let env: OperatedCluster;

  beforeAll(async () => {
    env = await startOperatedCluster(await isolate('captured-output'), {
      schedulers: ['co1'],
      admin: ADMIN,
      // Every log line the scheduler can write, to show none of them carries a body.
      schedulerEnv: { NONO_LOG_LEVEL: 'debug' },
    });
  });
  afterAll(() => env?.stop());

  async function defineAndTrigger(id: string, query: string, capture?: unknown): Promise<string> {
    const created = await env.call('POST', '/tasks', {
      id,
      name: id,
      schedule: { kind: 'interval', everyMs: 3_600_000 },
      target: {
        url: `${env.cluster.worker.url}/answer/${id}?${query}`,
        ...(capture === undefined ? {} : { capture }),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const triggered = await env.call('POST', `/tasks/${id}/trigger`, {});
    expect(triggered.status).toBe(202);
    return (triggered.body as { executionId: string }).executionId;
  }

  const outcomeOf = (executionId: string): Promise<NonoEvent> =>
    eventually(
      () =>
        env.facts.find(
          (e) =>
            (e.type === 'nono.execution.succeeded.v1' || e.type === 'nono.execution.failed.v1') &&
            e.data.executionId === executionId,
        ),
      30_000,
      `the outcome of ${executionId}`,
    );

  const attemptsOf = (executionId: string) =>
    eventually(
      async () => {
        const { status, body } = await env.call('GET', `/executions/${executionId}`);
        const detail = body as { status: string; attemptHistory: Array<{ output: Output | null }> };
        return status === 200 && ['succeeded', 'failed'].includes(detail.status) ? detail : undefined;
      },
      30_000,
      `history to show ${executionId}`,
    );

  it('keeps the body and chosen headers on the fact and in history, cut and marked past the limit', async () => {
    const text = `${MARKER} é`;
    const whole = await defineAndTrigger('out-text', `text=${encodeURIComponent(text)}`, {
      headers: ['X-Report-Id', 'X-Absent'],
    });
    const cut = await defineAndTrigger('out-long', `text=${encodeURIComponent(`${MARKER}-`)}&repeat=200`, {
      bodyBytes: 100,
    });
    const binary = await defineAndTrigger('out-binary', 'binary=1&repeat=64', {});
    const failed = await defineAndTrigger('out-fail', `status=503&text=${MARKER}`, { bodyBytes: 16 });
    const plain = await defineAndTrigger('out-none', `text=${MARKER}`);

    const wholeFact = await outcomeOf(whole);
    expect(wholeFact.type).toBe('nono.execution.succeeded.v1');
    expect((wholeFact.data as { output?: Output }).output).toEqual({
      body: text,
      encoding: 'utf8',
      bytes: Buffer.byteLength(text),
      truncated: false,
      headers: { 'x-report-id': 'report-out-text' },
    });
    const cutOutput = (await outcomeOf(cut)).data as { output?: Output };
    const longBody = `${MARKER}-`.repeat(200);
    expect(cutOutput.output).toMatchObject({
      body: longBody.slice(0, 100),
      encoding: 'utf8',
      bytes: longBody.length,
      truncated: true,
    });
    const binaryOutput = (await outcomeOf(binary)).data as { output?: Output };
    expect(binaryOutput.output).toMatchObject({ encoding: 'base64', bytes: 64, truncated: false });
    expect(Buffer.from(binaryOutput.output?.body ?? '', 'base64')).toEqual(
      Buffer.alloc(64, Buffer.from([0xff, 0xfe, 0x00, 0x80])),
    );
    const failedFact = await outcomeOf(failed);
    expect(failedFact.type).toBe('nono.execution.failed.v1');
    expect((failedFact.data as { output?: Output }).output).toMatchObject({
      body: MARKER.slice(0, 16),
      truncated: true,
      bytes: MARKER.length,
    });
    expect((await outcomeOf(plain)).data).not.toHaveProperty('output');

    // History projects it onto the attempt; the API shows it.
    const shown = await attemptsOf(whole);
    expect(shown.attemptHistory[0]?.output).toMatchObject({
      body: text,
      headers: { 'x-report-id': 'report-out-text' },
    });
    expect((await attemptsOf(cut)).attemptHistory[0]?.output).toMatchObject({
      truncated: true,
      bytes: longBody.length,
    });
    expect((await attemptsOf(binary)).attemptHistory[0]?.output).toMatchObject({ encoding: 'base64' });
    expect((await attemptsOf(plain)).attemptHistory[0]?.output).toBeNull();

    // The CLI prints the body, its size and whether it was cut.
    const cli = await runNono(env.api.url, ADMIN, ['execution', cut]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`attempt 1 output (${longBody.length} bytes, truncated)`);
    expect(cli.stdout).toContain(longBody.slice(0, 100));
    const cliText = await runNono(env.api.url, ADMIN, ['execution', whole]);
    expect(cliText.stdout).toContain('x-report-id: report-out-text');

    // No body in the scheduler's or history's log, at the scheduler's debug level.
    for (const log of [env.cluster.schedulers[0]?.logFile, env.history.logFile]) {
      expect(log).toBeDefined();
      const written = readFileSync(log ?? '', 'utf8');
      expect(written.length).toBeGreaterThan(0);
      expect(written).not.toContain(MARKER);
    }
  });

  it('refuses a capture larger than 64 KiB, naming the field', async () => {
    const refused = await env.call('POST', '/tasks', {
      id: 'out-too-big',
      name: 'too big',
      schedule: { kind: 'interval', everyMs: 3_600_000 },
      target: { url: `${env.cluster.worker.url}/ok/x`, capture: { bodyBytes: 65_537 } },
    });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body)).toContain('target.capture.bodyBytes');
  });
});
