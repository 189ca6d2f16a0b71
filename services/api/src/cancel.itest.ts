import { cancelRequestDocument } from '@nono/coordination';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, auth, sampleTask, startHarness } from './testing/harness.js';

describe('cancel requests over real ZooKeeper', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-cancel');
  });
  afterAll(async () => {
    await h?.close();
  });

  const executionId = '019ad000-0000-8000-8000-000000000001';
  const cancel = (taskId: string, id: string, role: 'viewer' | 'operator', payload?: object) =>
    h.app.inject({
      method: 'POST',
      url: `/api/v1/tasks/${taskId}/executions/${id}/cancel`,
      headers: auth(role),
      ...(payload === undefined ? {} : { payload }),
    });

  it('writes the request the owning scheduler acts on, with the operator and the note; a second one is a duplicate', async () => {
    expect(
      (
        await h.app.inject({
          method: 'POST',
          url: '/api/v1/tasks',
          headers: auth('admin'),
          payload: sampleTask('to-cancel'),
        })
      ).statusCode,
    ).toBe(201);
    const first = await cancel('to-cancel', executionId, 'operator', { note: 'wrong input file' });
    expect(first.statusCode).toBe(202);
    expect(first.json()).toEqual({ taskId: 'to-cancel', executionId, duplicate: false });
    const stored = cancelRequestDocument.parse(
      (await h.zk.get(h.layout.cancel('to-cancel', executionId))).data,
    );
    expect(stored.ok && stored.value).toMatchObject({ actor: { kind: 'token' }, note: 'wrong input file' });
    const again = await cancel('to-cancel', executionId, 'operator');
    expect(again.json()).toMatchObject({ duplicate: true });
  });

  it('refuses a viewer, an unknown task and an id that is no execution id', async () => {
    expect((await cancel('to-cancel', executionId, 'viewer', {})).statusCode).toBe(403);
    expect((await cancel('nope', executionId, 'operator', {})).statusCode).toBe(404);
    const bad = await cancel('to-cancel', 'not-an-id', 'operator', {});
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json())).toContain('executionId');
    const long = await cancel('to-cancel', executionId, 'operator', { note: 'x'.repeat(501) });
    expect(long.statusCode).toBe(400);
  });
});
