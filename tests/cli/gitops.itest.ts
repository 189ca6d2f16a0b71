import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, runNono, startApiProcess } from '../support/api.js';
import { isolate } from '../support/fixtures.js';

const ADMIN = 'gitops-admin';

const taskFile = (id: string, everyMs: number, extra: Record<string, unknown> = {}) =>
  `${JSON.stringify({ id, name: id, schedule: { kind: 'interval', everyMs }, target: { url: 'http://127.0.0.1:19/run' }, ...extra }, null, 2)}\n`;

/** `nono tasks apply -f DIR` (plan, dry run, prune) and `nono tasks export`, against a real API. */
describe('GitOps: apply a directory, export, prune', () => {
  let api: ApiProcess;
  beforeAll(async () => {
    api = await startApiProcess(await isolate('gitops'), { admin: ADMIN });
  });
  afterAll(async () => {
    await api?.kill();
  });

  const nono = (argv: string[], files: Record<string, string> = {}) => runNono(api.url, ADMIN, argv, files);
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${api.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('plans, applies, leaves unchanged, round-trips an export, keeps a pause and prunes', async () => {
    const repo = {
      'repo/a.json': taskFile('gitops-a', 60_000, { labels: { team: 'gitops' } }),
      'repo/b.json': taskFile('gitops-b', 60_000, { labels: { team: 'gitops' } }),
      'repo/README.md': 'not a task',
    };
    const dry = await nono(['tasks', 'apply', '-f', 'repo', '--dry-run'], repo);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('+ create    gitops-a');
    expect(dry.stdout).toContain('2 to create, 0 to update, 0 unchanged, 0 to delete');
    expect((await call('GET', '/tasks/gitops-a')).status).toBe(404);

    const applied = await nono(['tasks', 'apply', '-f', 'repo'], repo);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('2 created, 0 updated, 0 unchanged, 0 deleted');
    // The defaults the API filled in are not differences.
    const again = await nono(['tasks', 'apply', '-f', 'repo', '--dry-run'], repo);
    expect(again.stdout).toContain('0 to create, 0 to update, 2 unchanged, 0 to delete');

    const exported = await nono(['tasks', 'export', 'out', '--label', 'team:gitops']);
    expect(exported.code).toBe(0);
    expect(Object.keys(exported.written).sort()).toEqual(['out/gitops-a.json', 'out/gitops-b.json']);
    const roundTrip = await nono(['tasks', 'apply', '-f', 'out', '--dry-run'], exported.written);
    expect(roundTrip.stdout).toContain('0 to create, 0 to update, 2 unchanged, 0 to delete');

    // A field changed in a file is an update, shown field by field.
    const changed = { ...repo, 'repo/b.json': taskFile('gitops-b', 120_000, { labels: { team: 'gitops' } }) };
    const plan = await nono(['tasks', 'apply', '-f', 'repo', '--dry-run', '--json'], changed);
    expect(JSON.parse(plan.stdout)).toMatchObject({
      dryRun: true,
      plan: [
        { id: 'gitops-a', action: 'unchanged' },
        {
          id: 'gitops-b',
          action: 'update',
          changes: ['schedule.everyMs: 60000 → 120000'],
          // Every other minute of the next 7 days goes; nothing comes.
          instants: { days: 7, added: 0, firstAdded: [] },
        },
      ],
    });
    const removed = (JSON.parse(plan.stdout) as { plan: Array<{ instants?: { removed: number } }> }).plan[1]
      ?.instants?.removed;
    expect(removed).toBeGreaterThanOrEqual(5_039);
    expect(removed).toBeLessThanOrEqual(5_040);
    const planText = await nono(['tasks', 'apply', '-f', 'repo', '--dry-run'], changed);
    expect(planText.stdout).toMatch(/instants in the next 7 days: \+0, -50(39|40) \(first /);

    // An operator's pause is kept by a file that does not set `paused`.
    expect((await call('POST', '/tasks/gitops-a/pause', { note: 'incident 42' })).status).toBe(200);
    const paused = await nono(['tasks', 'apply', '-f', 'repo'], changed);
    expect(paused.stdout).toContain('0 created, 1 updated, 1 unchanged, 0 deleted');
    expect(((await (await call('GET', '/tasks/gitops-a')).json()) as { paused: boolean }).paused).toBe(true);

    // --prune deletes what no file names, within the selector only.
    const stray = JSON.parse(taskFile('gitops-stray', 60_000, { labels: { team: 'gitops' } })) as object;
    expect((await call('POST', '/tasks', stray)).status).toBe(201);
    const other = JSON.parse(taskFile('other-team', 60_000, { labels: { team: 'other' } })) as object;
    expect((await call('POST', '/tasks', other)).status).toBe(201);
    const prunePlan = await nono(
      ['tasks', 'apply', '-f', 'repo', '--prune', '-l', 'team:gitops', '--dry-run'],
      changed,
    );
    expect(prunePlan.stdout).toContain('- delete    gitops-stray');
    expect(prunePlan.stdout).not.toContain('other-team');
    const pruned = await nono(['tasks', 'apply', '-f', 'repo', '--prune', '-l', 'team:gitops'], changed);
    expect(pruned.code).toBe(0);
    expect((await call('GET', '/tasks/gitops-stray')).status).toBe(404);
    expect((await call('GET', '/tasks/other-team')).status).toBe(200);

    // A file the API would refuse stops the plan before anything is sent.
    const invalid = await nono(['tasks', 'apply', '-f', 'bad.json'], {
      'bad.json': taskFile('gitops-c', -5),
    });
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toMatch(/gitops-c.*schedule/);
    expect((await call('GET', '/tasks/gitops-c')).status).toBe(404);
  });
});
