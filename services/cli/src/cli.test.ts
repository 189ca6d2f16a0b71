import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from './cli-error.js';
import { CliHarness, FakeApi, problem } from './testing/fake-api.js';

const TASK = {
  id: 'nightly',
  createdAt: '2026-11-01T00:00:00.000Z',
  updatedAt: '2026-11-02T00:00:00.000Z',
  revision: 3,
  name: 'Nightly report',
  description: '',
  schedule: { kind: 'cron', expression: '0 3 * * *', timeZone: 'Europe/Paris', jitterMs: 0 },
  target: {
    method: 'POST',
    url: 'http://127.0.0.1:9000/jobs/ok',
    headers: {},
    timeoutMs: 30000,
    success: {},
  },
  paused: false,
  labels: {},
};
const SPEC = {
  id: 'nightly',
  name: 'Nightly report',
  schedule: { kind: 'cron', expression: '0 3 * * *' },
  target: { url: 'http://127.0.0.1:9000/jobs/ok' },
};

let api: FakeApi;
let cli: CliHarness;

beforeAll(async () => {
  api = await new FakeApi().start();
});
afterAll(async () => api.stop());
beforeEach(() => {
  api.reset();
  cli = new CliHarness({ NONO_API_URL: api.url, NONO_TOKEN: 'secret' });
});

describe('nono tasks ls', () => {
  it('follows every page and prints a table', async () => {
    api.on('GET /tasks', (request) =>
      request.query.get('after') === null
        ? {
            status: 200,
            body: { items: [{ etag: '"3"', owner: 'sched-a', task: TASK }], nextCursor: 'nightly' },
          }
        : {
            status: 200,
            body: {
              items: [
                {
                  etag: '"0"',
                  owner: null,
                  task: { ...TASK, id: 'zz', paused: true, schedule: { kind: 'interval', everyMs: 5000 } },
                },
              ],
              nextCursor: null,
            },
          },
    );
    const run = await cli.run('tasks', 'ls', '--label', 'team:ops');
    expect(run.code).toBe(ExitCode.Ok);
    expect(run.stdout).toMatch(/^ID\s+STATE\s+SCHEDULE\s+TARGET\s+OWNER$/m);
    expect(run.stdout).toMatch(
      /^nightly\s+active\s+cron 0 3 \* \* \* Europe\/Paris\s+POST http:\/\/127\.0\.0\.1:9000\/jobs\/ok\s+sched-a$/m,
    );
    expect(run.stdout).toMatch(/^zz\s+paused\s+every 5s\s+.*-$/m);
    expect(api.requests.map((r) => r.query.get('after'))).toEqual([null, 'nightly']);
    expect(api.requests[0]?.query.getAll('label')).toEqual(['team:ops']);
    expect(api.requests[0]?.headers.authorization).toBe('Bearer secret');
  });

  it('prints the items as JSON with --json (before or after the command)', async () => {
    api.on('GET /tasks', {
      status: 200,
      body: { items: [{ etag: '"3"', owner: null, task: TASK }], nextCursor: null },
    });
    for (const argv of [
      ['--json', 'tasks', 'ls'],
      ['tasks', 'ls', '--json'],
    ]) {
      const run = await cli.run(...argv);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual([{ etag: '"3"', owner: null, task: TASK }]);
    }
  });

  it('refuses --paused with --active', async () => {
    const run = await cli.run('tasks', 'ls', '--paused', '--active');
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain('--paused and --active exclude each other');
  });
});

describe('nono tasks get', () => {
  it('prints the task', async () => {
    api.on('GET /tasks/nightly', { status: 200, body: TASK, headers: { etag: '"3"' } });
    const run = await cli.run('tasks', 'get', 'nightly');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(TASK);
    const json = await cli.run('--json', 'tasks', 'get', 'nightly');
    expect(JSON.parse(json.stdout)).toEqual({ etag: '"3"', task: TASK });
  });

  it('exits 2 with the reason for an unknown task', async () => {
    api.on('GET /tasks/nope', problem(404, 'NONO_TASK_NOT_FOUND', 'no task "nope"'));
    const run = await cli.run('tasks', 'get', 'nope');
    expect(run.code).toBe(ExitCode.NotFound);
    expect(run.stderr).toContain('no task "nope" (404 NONO_TASK_NOT_FOUND)');
    expect(run.stdout).toBe('');
  });
});

describe('nono tasks create', () => {
  it('posts each task of the file without the managed fields', async () => {
    cli.files.set('tasks.json', JSON.stringify([TASK, { ...SPEC, id: 'other' }]));
    api.on('POST /tasks', (request) => ({ status: 201, body: request.body, headers: { etag: '"0"' } }));
    const run = await cli.run('tasks', 'create', '-f', 'tasks.json');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('created task nightly\ncreated task other\n');
    const first = api.requests[0]?.body as Record<string, unknown>;
    expect(first).not.toHaveProperty('revision');
    expect(first).not.toHaveProperty('createdAt');
    expect(first).toMatchObject({ id: 'nightly', name: 'Nightly report' });
  });

  it.each([
    ['missing.json', undefined, /cannot read missing\.json: no such file/],
    ['bad.json', '{\n  "id": "x",\n  oops\n}', /bad\.json is not valid JSON: .*line 3/],
    ['noid.json', JSON.stringify({ name: 'x' }), /noid\.json has no "id"/],
    ['list.json', JSON.stringify([SPEC, 42]), /list\.json \[1\] must be a JSON object/],
    ['empty.json', '[]', /empty array/],
  ])('exits 1 naming the problem of %s', async (file, content, message) => {
    if (content !== undefined) cli.files.set(file, content);
    const run = await cli.run('tasks', 'create', '-f', file);
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toMatch(message);
    expect(api.requests).toHaveLength(0);
  });

  it('lists every field the API refused', async () => {
    cli.files.set('t.json', JSON.stringify(SPEC));
    api.on(
      'POST /tasks',
      problem(422, 'NONO_INVALID_TASK', 'the task is not valid', [
        { field: 'schedule.expression', message: 'is not a valid cron expression' },
        { field: 'target.url', message: 'must be an absolute http:// or https:// URL' },
      ]),
    );
    const run = await cli.run('tasks', 'create', '-f', 't.json');
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain('NONO_INVALID_TASK');
    expect(run.stderr).toContain('  schedule.expression: is not a valid cron expression\n');
    expect(run.stderr).toContain('  target.url: must be an absolute http:// or https:// URL\n');
  });

  it('exits 3 when the id is taken, and points at apply', async () => {
    cli.files.set('t.json', JSON.stringify(SPEC));
    api.on('POST /tasks', problem(409, 'NONO_TASK_EXISTS', 'task "nightly" exists'));
    const run = await cli.run('tasks', 'create', '-f', 't.json');
    expect(run.code).toBe(ExitCode.Conflict);
    expect(run.stderr).toContain('nono tasks apply');
  });
});

describe('nono tasks apply', () => {
  it('creates what is new and replaces what exists, at the version it read', async () => {
    cli.files.set('t.json', JSON.stringify([SPEC, { ...SPEC, id: 'fresh' }]));
    api.on('GET /tasks/nightly', { status: 200, body: TASK, headers: { etag: '"3"' } });
    api.on('PUT /tasks/nightly', { status: 200, body: { ...TASK, revision: 4 }, headers: { etag: '"4"' } });
    api.on('POST /tasks', (request) => ({ status: 201, body: request.body, headers: { etag: '"0"' } }));
    const run = await cli.run('tasks', 'apply', '-f', 't.json');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('~ update    nightly\n      misfire: (none) → ');
    // A zone change moves every instant of the week: 7 daily ones go, 7 come, an hour apart.
    expect(run.stdout).toContain(
      '      schedule.timeZone: "Europe/Paris" → "UTC"\n' +
        '      instants in the next 7 days: +7 (first 2026-11-23T03:00:00.000Z), -7 (first 2026-11-23T02:00:00.000Z)\n' +
        '+ create    fresh\n',
    );
    expect(run.stdout).toMatch(/1 created, 1 updated, 0 unchanged, 0 deleted\n$/);
    const put = api.requests.find((r) => r.method === 'PUT');
    expect(put?.headers['if-match']).toBe('"3"');
    // The file's task, with the server's pause kept (the file does not set `paused`).
    expect(put?.body).toEqual({ ...SPEC, paused: false });
  });

  it('exits 3 when the task changed between the read and the write', async () => {
    cli.files.set('t.json', JSON.stringify(SPEC));
    api.on('GET /tasks/nightly', { status: 200, body: TASK, headers: { etag: '"3"' } });
    api.on('PUT /tasks/nightly', problem(412, 'NONO_PRECONDITION_FAILED', 'If-Match "3" does not match "4"'));
    const run = await cli.run('tasks', 'apply', '-f', 't.json');
    expect(run.code).toBe(ExitCode.Conflict);
    expect(run.stderr).toContain('changed since it was read');
  });
});

describe('nono tasks edit', () => {
  beforeEach(() => {
    api.on('GET /tasks/nightly', { status: 200, body: TASK, headers: { etag: '"3"' } });
  });

  it('saves the edited task with If-Match', async () => {
    api.on('PUT /tasks/nightly', (request) => ({
      status: 200,
      body: { ...(request.body as object), revision: 4 },
      headers: { etag: '"4"' },
    }));
    cli.editor = (text) => text.replace('Nightly report', 'Nightly report v2');
    const run = await cli.run('tasks', 'edit', 'nightly');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('replaced task nightly (revision 4)\n');
    const put = api.requests.find((r) => r.method === 'PUT');
    expect(put?.headers['if-match']).toBe('"3"');
    expect(put?.body).toMatchObject({ id: 'nightly', name: 'Nightly report v2' });
    expect(put?.body).not.toHaveProperty('revision');
  });

  it('sends nothing when the file is unchanged', async () => {
    const run = await cli.run('tasks', 'edit', 'nightly');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('no change');
    expect(api.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('keeps the edit when it cannot be saved', async () => {
    cli.editor = (text) => text.replace('{', '{ broken');
    const run = await cli.run('tasks', 'edit', 'nightly');
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toMatch(/is not valid JSON/);
    expect(run.stderr).toMatch(/your edit is kept in \/tmp\/1-nono-nightly\.json/);
  });

  it('refuses a changed id', async () => {
    cli.editor = (text) => text.replace('"id": "nightly"', '"id": "renamed"');
    const run = await cli.run('tasks', 'edit', 'nightly');
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain('"id" must stay "nightly"');
  });

  it('exits 3 when someone else saved first', async () => {
    api.on('PUT /tasks/nightly', problem(412, 'NONO_PRECONDITION_FAILED', 'the task changed'));
    cli.editor = (text) => text.replace('Nightly report', 'v2');
    const run = await cli.run('tasks', 'edit', 'nightly');
    expect(run.code).toBe(ExitCode.Conflict);
    expect(run.stderr).toContain('your edit is kept in');
  });
});

describe('task actions', () => {
  it('pauses with a note, resumes, triggers and deletes', async () => {
    api.on('POST /tasks/nightly/pause', { status: 200, body: { ...TASK, paused: true } });
    api.on('POST /tasks/nightly/resume', { status: 200, body: TASK });
    api.on('POST /tasks/nightly/trigger', {
      status: 202,
      body: { taskId: 'nightly', requestId: 'r1', executionId: 'e-1', duplicate: false },
    });
    api.on('DELETE /tasks/nightly', { status: 204 });
    expect((await cli.run('tasks', 'pause', 'nightly', '--note', 'maintenance')).stdout).toBe(
      'paused task nightly\n',
    );
    expect((await cli.run('tasks', 'resume', 'nightly')).stdout).toBe('resumed task nightly\n');
    const trigger = await cli.run('tasks', 'trigger', 'nightly', '--request-id', 'r1');
    expect(trigger.stdout).toContain('triggered task nightly: execution e-1 (request r1)');
    const rm = await cli.run('tasks', 'rm', 'nightly', '--if-match', '"3"');
    expect(rm.code).toBe(0);
    expect(rm.stdout).toBe('deleted task nightly\n');
    expect(api.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/tasks/nightly/pause', { note: 'maintenance' }],
      ['POST', '/tasks/nightly/resume', {}],
      ['POST', '/tasks/nightly/trigger', { requestId: 'r1' }],
      ['DELETE', '/tasks/nightly', undefined],
    ]);
    expect(api.requests[3]?.headers['if-match']).toBe('"3"');
  });

  it.each([
    ['pause', 'nightly'],
    ['resume', 'nightly'],
    ['trigger', 'nightly'],
    ['rm', 'nightly'],
  ])('%s of an unknown task exits 2', async (command, id) => {
    const run = await cli.run('tasks', command, id);
    expect(run.code).toBe(ExitCode.NotFound);
  });

  it('exits 4 when the role is too weak', async () => {
    api.on('POST /tasks/nightly/pause', problem(403, 'NONO_FORBIDDEN', 'this needs the operator role'));
    const run = await cli.run('tasks', 'pause', 'nightly');
    expect(run.code).toBe(ExitCode.Auth);
    expect(run.stderr).toContain('role is too weak');
  });
});

describe('nono tasks preview', () => {
  it('asks for the next instants in the zone', async () => {
    api.on('POST /preview', {
      status: 200,
      body: {
        timeZone: 'Europe/Paris',
        after: '2026-11-22T12:00:00.000Z',
        fireTimes: [{ utc: '2026-11-23T02:00:00.000Z', local: '2026-11-23T03:00:00.000+01:00' }],
      },
    });
    const run = await cli.run('tasks', 'preview', '0 3 * * *', '--tz', 'Europe/Paris', '--count', '1');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /UTC\s+LOCAL \(Europe\/Paris\)\n2026-11-23T02:00:00.000Z\s+2026-11-23T03:00:00.000\+01:00/,
    );
    expect(api.requests[0]?.body).toEqual({
      schedule: { kind: 'cron', expression: '0 3 * * *', timeZone: 'Europe/Paris' },
      count: 1,
    });
  });

  it('sends the task id an H cron needs and says what DST does to the schedule', async () => {
    api.on('POST /preview', {
      status: 200,
      body: {
        timeZone: 'Europe/Paris',
        after: '2026-10-01T00:00:00.000Z',
        fireTimes: [{ utc: '2026-10-02T00:30:00.000Z', local: '2026-10-02T02:30:00.000+02:00' }],
        dstEffects: [
          {
            transitionAt: '2026-10-25T01:00:00.000Z',
            kind: 'overlap',
            readings: 1,
            message:
              'on 2026-10-25 02:30 occurs twice (clocks go back from 03:00 to 02:00); fires at the first only',
          },
        ],
      },
    });
    const run = await cli.run(
      'tasks',
      'preview',
      '30 2 * * *',
      '--tz',
      'Europe/Paris',
      '--id',
      'nightly-report',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'DST: on 2026-10-25 02:30 occurs twice (clocks go back from 03:00 to 02:00); fires at the first only\n',
    );
    expect(api.requests[0]?.body).toMatchObject({ taskId: 'nightly-report' });
  });

  it('exits 1 for a bad count or a bad cron', async () => {
    const count = await cli.run('tasks', 'preview', '* * * * *', '--count', '0');
    expect(count.code).toBe(ExitCode.Usage);
    expect(count.stderr).toContain('expected an integer from 1 to 100');
    api.on(
      'POST /preview',
      problem(422, 'NONO_INVALID_SCHEDULE', 'bad schedule', [
        { field: 'schedule.expression', message: 'has 7 fields' },
      ]),
    );
    const cron = await cli.run('tasks', 'preview', '* * * * * * *');
    expect(cron.code).toBe(ExitCode.Usage);
    expect(cron.stderr).toContain('schedule.expression: has 7 fields');
  });
});

describe('cluster and history views', () => {
  it('nono schedulers lists members and departed owners', async () => {
    api.on('GET /schedulers', {
      status: 200,
      body: {
        generation: 4,
        updatedAt: null,
        schedulers: [
          { id: 'sched-a', host: 'h', pid: 7, startedAt: 'x', opsUrl: 'http://h:7400', tasks: ['a', 'b'] },
        ],
        departed: ['sched-b'],
      },
    });
    const run = await cli.run('schedulers');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^sched-a\s+h\s+7\s+2\s+x\s+http:\/\/h:7400$/m);
    expect(run.stdout).toContain('departed (the leader is reassigning their tasks): sched-b');
  });

  it('nono executions shows the shard and member of shard and broadcast executions', async () => {
    const unit = (shardIndex: number | null, memberUrl: string) => ({
      nominalTime: '2026-11-22T11:59:00.000Z',
      taskId: 'reindex',
      status: 'succeeded',
      attempts: 1,
      lateMs: 3,
      durationMs: 20,
      httpStatus: 200,
      schedulerId: 'sched-a',
      reason: 'scheduled',
      instantId: 'e-1',
      shardIndex,
      shardCount: shardIndex === null ? null : 10,
      memberUrl,
    });
    api.on('GET /executions', {
      status: 200,
      body: {
        items: [unit(3, 'http://10.0.0.2:8080'), unit(null, 'http://10.0.0.3:8080')],
        nextCursor: null,
      },
    });
    const run = await cli.run('executions', '--task', 'reindex');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/SHARD\s+MEMBER/);
    expect(run.stdout).toMatch(/scheduled\s+3\/10\s+http:\/\/10\.0\.0\.2:8080/);
    expect(run.stdout).toMatch(/scheduled\s+-\s+http:\/\/10\.0\.0\.3:8080/);
  });

  it('nono executions passes the filters and turns --since into an instant', async () => {
    api.on('GET /executions', {
      status: 200,
      body: {
        items: [
          {
            nominalTime: '2026-11-22T11:59:00.000Z',
            taskId: 'nightly',
            status: 'failed',
            attempts: 2,
            lateMs: 12,
            durationMs: 1500,
            httpStatus: 500,
            schedulerId: 'sched-a',
            reason: 'scheduled',
          },
        ],
        nextCursor: null,
      },
    });
    const run = await cli.run(
      'executions',
      '--task',
      'nightly',
      '--status',
      'failed',
      '--since',
      '15m',
      '-n',
      '5',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/nightly\s+failed\s+2\s+12ms\s+1\.5s\s+500\s+sched-a\s+scheduled/);
    const query = api.requests[0]?.query;
    expect(Object.fromEntries(query ?? [])).toEqual({
      taskId: 'nightly',
      status: 'failed',
      from: '2026-11-22T11:45:00.000Z',
      limit: '5',
    });
  });

  it.each([
    [['executions', '--status', 'done'], /--status "done" is not valid/],
    [['executions', '--since', 'yesterday'], /--since "yesterday" is not valid/],
    [['executions', '--limit', '501'], /from 1 to 500/],
  ])('nono %j exits 1', async (argv, message) => {
    const run = await cli.run(...argv);
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toMatch(message);
    expect(api.requests).toHaveLength(0);
  });

  describe('nono ledger', () => {
    const summary = {
      due: 3,
      fired: 3,
      succeeded: 2,
      failed: 0,
      timedOut: 0,
      skipped: { overlap: 1 },
      misfired: 0,
      lost: 0,
      running: 0,
      pending: 0,
      manual: 0,
      unaccounted: 0,
      doubled: 0,
      stale: 0,
      undue: 0,
    };
    const entry = (second: string, outcome: string, flags: string[] = []) => ({
      nominalTime: `2026-11-22T11:50:${second}.000Z`,
      kind: 'scheduled',
      due: 'schedule',
      revision: 1,
      outcome,
      reason: outcome === 'skipped' ? 'overlap' : null,
      requestedAt: null,
      executions: [],
      actions:
        outcome === 'unaccounted'
          ? []
          : [
              {
                kind: 'fired',
                executionId: 'x',
                attempt: 1,
                schedulerId: 'sched-a',
                fencingToken: 42,
                at: '',
                detail: null,
              },
            ],
      flags,
    });
    const body = (entries: unknown[], over: Record<string, number> = {}) => ({
      taskId: 'nightly',
      from: '2026-11-22T11:45:00.000Z',
      to: '2026-11-22T12:00:00.000Z',
      summary: { ...summary, ...over },
      entries,
    });

    it('prints each instant and the summary, and exits 0 when everything is accounted for', async () => {
      api.on('GET /tasks/nightly/ledger', {
        status: 200,
        body: body([entry('00', 'succeeded'), entry('01', 'skipped'), entry('02', 'succeeded')]),
      });
      const run = await cli.run(
        'ledger',
        '--task',
        'nightly',
        '--from',
        '15m',
        '--to',
        '2026-11-22T12:00:00Z',
      );
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(
        /11:50:01\.000Z\s+scheduled\s+schedule\s+skipped\s+overlap\s+1\s+sched-a@42/,
      );
      expect(run.stdout).toMatch(/skipped overlap 1/);
      expect(run.stdout).toMatch(/unaccounted 0, doubled 0, stale 0, undue 0/);
      expect(Object.fromEntries(api.requests[0]?.query ?? [])).toEqual({
        from: '2026-11-22T11:45:00.000Z',
        to: '2026-11-22T12:00:00.000Z',
      });
    });

    it.each([
      ['unaccounted', { unaccounted: 1 }],
      ['doubled', { doubled: 1 }],
      ['stale', { stale: 2 }],
    ])(
      'exits 1 and says so when an instant is %s, with the ledger still printed (--json too)',
      async (flag, over) => {
        api.on('GET /tasks/nightly/ledger', {
          status: 200,
          body: body([entry('00', 'succeeded'), entry('01', 'unaccounted', [flag])], over),
        });
        const run = await cli.run('--json', 'ledger', '--task', 'nightly', '--from', '15m');
        expect(run.code).toBe(ExitCode.LedgerViolation);
        expect(JSON.parse(run.stdout)).toMatchObject({ summary: over });
        expect(run.stderr).toMatch(new RegExp(`shows \\d ${flag}`));
      },
    );

    it.each([
      [['ledger', '--from', '15m'], /--task/],
      [['ledger', '--task', 'nightly'], /--from/],
      [['ledger', '--task', 'nightly', '--from', 'yesterday'], /--from "yesterday" is not valid/],
      [['ledger', '--task', 'nightly', '--from', '1h', '--to', 'soon'], /--to "soon" is not valid/],
    ])('nono %j exits 1 without asking the API', async (argv, message) => {
      const run = await cli.run(...argv);
      expect(run.code).toBe(ExitCode.Usage);
      expect(run.stderr).toMatch(message);
      expect(api.requests).toHaveLength(0);
    });
  });

  it('nono report reads one daily report per day, or one task report', async () => {
    api.on('GET /reports/daily', (request) => ({
      status: 200,
      body: {
        items: [
          {
            day: request.query.get('day'),
            taskId: 'nightly',
            runs: 4,
            succeeded: 3,
            failed: 1,
            successRate: 0.75,
            meanDurationMs: 20,
            maxDurationMs: 40,
          },
        ],
        nextCursor: null,
      },
    }));
    const daily = await cli.run('report', '--days', '2');
    expect(daily.code).toBe(0);
    expect(api.requests.map((r) => r.query.get('day'))).toEqual(['2026-11-22', '2026-11-21']);
    expect(daily.stdout).toMatch(/2026-11-21\s+nightly\s+4\s+3\s+1\s+-\s+-\s+-\s+-\s+75\.0%\s+20ms\s+40ms/);

    api.on('GET /reports/tasks/nightly', {
      status: 200,
      body: {
        taskId: 'nightly',
        executions: 5,
        runs: 4,
        succeeded: 3,
        failed: 1,
        timedOut: 0,
        lost: 0,
        skipped: 1,
        missed: 0,
        inProgress: 0,
        successRate: 0.75,
        durationMs: { p50: 6, p95: 1_250, p99: 2_000, max: 2_100 },
        latenessMs: { p50: 1, p95: 3, p99: 9, max: 12 },
      },
    });
    const task = await cli.run('report', '--task', 'nightly', '--days', '7');
    expect(task.stdout).toMatch(/^runs\s+4$/m);
    expect(task.stdout).toMatch(/^success\s+75\.0%$/m);
    expect(task.stdout).toMatch(/^duration\s+p50 6ms, p95 1\.3s, p99 2\.0s, max 2\.1s$/m);
    expect(task.stdout).toMatch(/^lateness\s+p50 1ms, p95 3ms, p99 9ms, max 12ms$/m);
    expect(task.stdout).not.toMatch(/[{}"]/);
    expect(api.requests.at(-1)?.query.get('from')).toBe('2026-11-15T12:00:00.000Z');
  });

  it('nono audit shows who did what', async () => {
    api.on('GET /audit', {
      status: 200,
      body: {
        items: [
          {
            at: '2026-11-22T10:00:00.000Z',
            taskId: 'nightly',
            type: 'nono.task.paused.v1',
            actorId: 'admin:abc',
            revision: 4,
          },
        ],
        nextCursor: null,
      },
    });
    const run = await cli.run('audit', '--task', 'nightly');
    expect(run.stdout).toMatch(/nightly\s+paused\s+admin:abc\s+4/);
    expect(api.requests[0]?.query.get('taskId')).toBe('nightly');
  });

  it('nono audit names alert rule changes rule:<id>, and --rule and --subject ask for them', async () => {
    api.on('GET /audit', {
      status: 200,
      body: {
        items: [
          {
            at: '2026-11-22T10:00:00.000Z',
            subject: 'alert-rule',
            taskId: null,
            ruleId: 'pay-fails',
            type: 'nono.alert-rule.updated.v1',
            actorId: 'admin:abc',
            revision: 2,
          },
        ],
        nextCursor: null,
      },
    });
    const run = await cli.run('audit', '--rule', 'pay-fails', '--subject', 'alert-rule');
    expect(run.stdout).toMatch(/rule:pay-fails\s+updated\s+admin:abc\s+2/);
    expect(api.requests[0]?.query.get('ruleId')).toBe('pay-fails');
    expect(api.requests[0]?.query.get('subject')).toBe('alert-rule');
    const bad = await cli.run('audit', '--subject', 'rules');
    expect(bad.code).toBe(ExitCode.Usage);
    expect(bad.stderr).toContain('--subject "rules" is not valid: expected task or alert-rule');
  });

  it('nono history rebuild says it is not available and how to do it', async () => {
    const run = await cli.run('history', 'rebuild');
    expect(run.code).toBe(ExitCode.Unsupported);
    expect(run.stderr).toContain(
      'NONO_HISTORY_ADMIN_TOKEN=<token> node services/history/dist/main.js rebuild',
    );
    expect(run.stderr).toContain('rebuilds live');
  });

  it('exits 5 when the history service is down', async () => {
    api.on('GET /executions', problem(502, 'NONO_HISTORY_UNAVAILABLE', 'the history service is unreachable'));
    const run = await cli.run('executions');
    expect(run.code).toBe(ExitCode.Unavailable);
    expect(run.stderr).toContain('NONO_HISTORY_UNAVAILABLE');
  });
});

describe('nono tokens', () => {
  const INFO = {
    name: 'ci',
    role: 'operator',
    createdAt: '2026-11-22T12:00:00.000Z',
    createdBy: 'admin:0123456789ab',
    expiresAt: '2026-12-22T12:00:00.000Z',
    expired: false,
    lastUsedAt: null,
  };
  it('creates with an expiry counted from now and prints the secret once, lists, revokes', async () => {
    api.on('POST /tokens', { status: 201, body: { ...INFO, token: 'nono_s3cret' } });
    api.on('GET /tokens', { status: 200, body: { items: [INFO, { ...INFO, name: 'old', expired: true }] } });
    api.on('DELETE /tokens/ci', { status: 204 });
    const created = await cli.run('tokens', 'create', 'ci', '--role', 'operator', '--expires', '30d');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('\nnono_s3cret\n');
    const listed = await cli.run('tokens', 'ls');
    expect(listed.stdout).toMatch(/^ci\s+operator\s.*never\s*$/m);
    expect(listed.stdout).toContain('(expired)');
    expect((await cli.run('tokens', 'revoke', 'ci')).stdout).toBe('revoked token ci\n');
    expect(api.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/tokens', { name: 'ci', role: 'operator', expiresAt: '2026-12-22T12:00:00.000Z' }],
      ['GET', '/tokens', undefined],
      ['DELETE', '/tokens/ci', undefined],
    ]);
  });
  it.each([
    [['tokens', 'create', 'ci', '--role', 'root'], '--role "root" is not valid'],
    [['tokens', 'create', 'ci', '--role', 'viewer', '--expires', 'soon'], '--expires "soon" is not valid'],
  ])('refuses %j before calling the API', async (argv, message) => {
    const run = await cli.run(...argv);
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain(message);
    expect(api.requests).toEqual([]);
  });
  it('says why a token is refused (expired)', async () => {
    api.on(
      'GET /tokens',
      problem(401, 'NONO_UNAUTHENTICATED', 'this token expired at 2026-11-01T00:00:00.000Z'),
    );
    const run = await cli.run('tokens', 'ls');
    expect(run.code).toBe(ExitCode.Auth);
    expect(run.stderr).toContain('this token expired at 2026-11-01T00:00:00.000Z');
  });
});

describe('connection and authentication', () => {
  it('exits 5 when the API is unreachable', async () => {
    const port = await closedPort();
    cli.env = { NONO_API_URL: `http://127.0.0.1:${port}`, NONO_TOKEN: 'secret' };
    const run = await cli.run('tasks', 'ls');
    expect(run.code).toBe(ExitCode.Unavailable);
    expect(run.stderr).toContain(`cannot reach the nono API at http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(run.stderr).toContain('npm start');
  });

  it('exits 5 on a 500', async () => {
    api.on('GET /schedulers', problem(500, 'NONO_INTERNAL', 'Internal error'));
    expect((await cli.run('schedulers')).code).toBe(ExitCode.Unavailable);
  });

  it('exits 4 on a 401 and says where the token came from', async () => {
    api.on('GET /tasks', problem(401, 'NONO_UNAUTHENTICATED', 'unknown token'));
    const run = await cli.run('tasks', 'ls');
    expect(run.code).toBe(ExitCode.Auth);
    expect(run.stderr).toContain('the API did not accept the token from NONO_TOKEN');
    expect(run.stderr).toContain('.nono/local-token');
    // The same suffix as every other refusal: what was asked, the status and the code.
    const flag = await cli.run('tasks', 'ls', '--token', 'wrong');
    expect(flag.stderr).toMatch(
      /^nono: the API did not accept the token from --token: GET \/tasks\?limit=500: unknown token \(401 NONO_UNAUTHENTICATED\)$/m,
    );
  });

  it('says so when no token is configured', async () => {
    api.on('GET /tasks', problem(401, 'NONO_UNAUTHENTICATED', 'no token'));
    cli.env = { NONO_API_URL: api.url };
    const run = await cli.run('tasks', 'ls');
    expect(run.code).toBe(ExitCode.Auth);
    expect(run.stderr).toContain('no API token given');
    expect(api.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('takes the token from --token, then NONO_TOKEN, then the config file', async () => {
    api.on('GET /schedulers', {
      status: 200,
      body: { generation: null, updatedAt: null, schedulers: [], departed: [] },
    });
    cli.env = { XDG_CONFIG_HOME: '/cfg' };
    cli.files.set('/cfg/nono/config.json', JSON.stringify({ apiUrl: api.url, token: 'from-file' }));
    await cli.run('schedulers');
    cli.env = { XDG_CONFIG_HOME: '/cfg', NONO_TOKEN: 'from-env' };
    await cli.run('schedulers');
    await cli.run('--token', 'from-flag', 'schedulers');
    expect(api.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer from-file',
      'Bearer from-env',
      'Bearer from-flag',
    ]);
  });

  it('exits 1 for a config file that is not JSON', async () => {
    cli.env = {};
    cli.files.set('/home/test/.config/nono/config.json', '{ token: nope');
    const run = await cli.run('schedulers');
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain('/home/test/.config/nono/config.json is not valid JSON');
  });
});

describe('usage', () => {
  it('exits 0 for --help and --version, 1 for an unknown command or a missing argument', async () => {
    const help = await cli.run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    expect((await cli.run('--version')).stdout).toBe('0.1.0\n');
    const unknown = await cli.run('taks', 'ls');
    expect(unknown.code).toBe(ExitCode.Usage);
    expect(unknown.stderr).toContain("unknown command 'taks'");
    const missing = await cli.run('tasks', 'get');
    expect(missing.code).toBe(ExitCode.Usage);
    expect(missing.stderr).toContain("missing required argument 'id'");
    expect((await cli.run('tasks', 'create')).stderr).toContain(
      "required option '-f, --file <path>' not specified",
    );
  });
});

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

describe('nono alerts', () => {
  const ALERT = {
    id: '0b3a8e40-bd6b-513d-8cba-d7210136d543',
    state: 'open',
    taskId: 'nightly',
    ruleId: 'on-failure',
    condition: 'failed',
    openedAt: '2026-11-02T03:00:01.000Z',
    occurrences: 2,
    acknowledged: null,
    silencedUntil: null,
    summary: 'nightly at 2026-11-02T03:00:00.000Z failed after attempt 1: HTTP 500',
  };

  it('ls prints the open alerts as a table, with the filters as query parameters', async () => {
    api.on('GET /alerts', { status: 200, body: { alerts: [ALERT] } });
    const run = await cli.run('alerts', 'ls', '--task', 'nightly');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('0b3a8e40-bd6b-513d-8cba-d7210136d543  open   nightly');
    expect(api.requests.at(-1)?.query.get('state')).toBe('open');
    expect(api.requests.at(-1)?.query.get('taskId')).toBe('nightly');
  });

  it('ack sends the note; silence sends the window in milliseconds', async () => {
    api.on(`POST /alerts/${ALERT.id}/ack`, (request) => ({
      status: 200,
      body: { ...ALERT, note: request.body },
    }));
    api.on(`POST /alerts/${ALERT.id}/silence`, {
      status: 200,
      body: { ...ALERT, silencedUntil: '2026-11-02T04:00:01.000Z' },
    });
    expect((await cli.run('alerts', 'ack', ALERT.id, '--note', 'on it')).stdout).toBe(
      `acknowledged alert ${ALERT.id}\n`,
    );
    expect(api.requests.at(-1)?.body).toEqual({ note: 'on it' });
    const silenced = await cli.run('alerts', 'silence', ALERT.id, '--for', '1h', '--note', 'maintenance');
    expect(silenced.stdout).toBe(`silenced alert ${ALERT.id} until 2026-11-02T04:00:01.000Z\n`);
    expect(api.requests.at(-1)?.body).toEqual({ forMs: 3_600_000, note: 'maintenance' });
  });

  it('silence refuses a window that is not a duration, without calling the API', async () => {
    const run = await cli.run('alerts', 'silence', ALERT.id, '--for', 'soon');
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain('--for "soon" is not valid: expected a duration like 30m, 2h or 1d');
    expect(api.requests).toEqual([]);
  });

  it('rules apply creates what is new and replaces what exists at the revision it read', async () => {
    const rule = {
      id: 'on-failure',
      name: 'on failure',
      scope: { kind: 'all' },
      condition: { kind: 'failed' },
    };
    cli.files.set('rules.json', JSON.stringify([rule, { ...rule, id: 'fresh' }]));
    api.on('GET /alerts/rules/on-failure', {
      status: 200,
      body: { ...rule, revision: 2 },
      headers: { etag: '"2"' },
    });
    api.on('GET /alerts/rules/fresh', problem(404, 'NONO_ALERT_RULE_NOT_FOUND', 'no rule fresh'));
    api.on('PUT /alerts/rules/on-failure', {
      status: 200,
      body: { ...rule, revision: 3 },
      headers: { etag: '"3"' },
    });
    api.on('PUT /alerts/rules/fresh', {
      status: 201,
      body: { ...rule, id: 'fresh', revision: 1 },
      headers: { etag: '"1"' },
    });
    const run = await cli.run('alerts', 'rules', 'apply', '-f', 'rules.json');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('replaced rule on-failure (revision 3)\ncreated rule fresh (revision 1)\n');
    const puts = api.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.headers['if-match'])).toEqual(['"2"', undefined]);
    expect(puts[0]?.body).toEqual({
      name: 'on failure',
      scope: { kind: 'all' },
      condition: { kind: 'failed' },
    });
  });

  it('rules apply names the entry without an id', async () => {
    cli.files.set('rules.json', JSON.stringify([{ name: 'no id' }]));
    const run = await cli.run('alerts', 'rules', 'apply', '-f', 'rules.json');
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain('rules.json[0]: "id" must be a non-empty string');
  });
});

describe('nono calendars', () => {
  it('applies a calendar file: replaces the existing one at the version it read', async () => {
    const calendar = { name: 'fr-holidays', timeZone: 'Europe/Paris', dates: ['2026-12-25'], revision: 2 };
    cli.files.set('c.json', JSON.stringify(calendar));
    api.on('GET /calendars/fr-holidays', { status: 200, body: calendar, headers: { etag: '"2"' } });
    api.on('PUT /calendars/fr-holidays', {
      status: 200,
      body: { ...calendar, revision: 3 },
      headers: { etag: '"3"' },
    });
    const run = await cli.run('calendars', 'apply', '-f', 'c.json');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('replaced calendar fr-holidays\n');
    const put = api.requests.find((r) => r.method === 'PUT');
    expect(put?.headers['if-match']).toBe('"2"');
    // The managed fields stay home; the name is the path.
    expect(put?.body).toEqual({ timeZone: 'Europe/Paris', dates: ['2026-12-25'] });
  });

  it('says what is wrong with a file that is no calendar', async () => {
    cli.files.set('c.json', JSON.stringify([{ name: 'x' }]));
    const run = await cli.run('calendars', 'apply', '-f', 'c.json');
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain('must hold one JSON object');
  });
});

describe('nono groups', () => {
  const GROUP = {
    name: 'renderers',
    createdAt: '2026-11-01T00:00:00.000Z',
    updatedAt: '2026-11-01T00:00:00.000Z',
    revision: 2,
    description: 'report renderers',
    members: [{ url: 'http://127.0.0.1:7761' }],
    leaseMs: 15_000,
    passiveHealth: { consecutiveFailures: 3, backoffMs: 30_000 },
  };
  const MEMBERS = {
    group: 'renderers',
    leaseMs: 15_000,
    checkedAt: '2026-11-02T00:00:00.000Z',
    members: [
      {
        url: 'http://127.0.0.1:7761',
        source: 'static',
        memberId: null,
        state: 'static',
        registeredAt: null,
        renewedAt: null,
        expiresAt: null,
        health: 'out',
        takenOutBy: [
          { schedulerId: 's1', until: '2026-11-02T00:00:30.000Z', failures: 3, lastError: 'ECONNREFUSED' },
        ],
      },
      {
        url: 'http://127.0.0.1:7762',
        source: 'dynamic',
        memberId: 'host-b',
        state: 'live',
        registeredAt: '2026-11-01T23:00:00.000Z',
        renewedAt: '2026-11-02T00:00:00.000Z',
        expiresAt: '2026-11-02T00:00:15.000Z',
        health: 'in',
        takenOutBy: [],
      },
    ],
  };

  it('ls lists the groups with their live members', async () => {
    api.on('GET /worker-groups', {
      status: 200,
      body: { items: [{ etag: '"2"', liveMembers: 2, group: GROUP }] },
    });
    const run = await cli.run('groups', 'ls');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^NAME\s+LIVE MEMBERS\s+STATIC\s+LEASE\s+DESCRIPTION$/m);
    expect(run.stdout).toMatch(/^renderers\s+2\s+1\s+15s\s+report renderers$/m);
  });

  it('show prints the definition and each member with its lease and health', async () => {
    api.on('GET /worker-groups/renderers', { status: 200, body: GROUP, headers: { etag: '"2"' } });
    api.on('GET /worker-groups/renderers/members', { status: 200, body: MEMBERS });
    const run = await cli.run('groups', 'show', 'renderers');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('out after 3 failures in a row, for 30s');
    expect(run.stdout).toMatch(
      /^http:\/\/127\.0\.0\.1:7761\s+static\s+static\s+out\s+-\s+-\s+s1 until 2026-11-02T00:00:30\.000Z \(ECONNREFUSED\)$/m,
    );
    expect(run.stdout).toMatch(
      /^http:\/\/127\.0\.0\.1:7762\s+dynamic\s+live\s+in\s+host-b\s+2026-11-02T00:00:15\.000Z\s+-$/m,
    );
    const json = await cli.run('--json', 'groups', 'show', 'renderers');
    expect(JSON.parse(json.stdout)).toMatchObject({
      etag: '"2"',
      group: { name: 'renderers' },
      members: [{}, {}],
    });
  });

  it('apply creates what is missing, replaces what differs with If-Match, and leaves the rest', async () => {
    api.on('GET /worker-groups/renderers', { status: 200, body: GROUP, headers: { etag: '"2"' } });
    api.on('GET /worker-groups/same', {
      status: 200,
      body: { ...GROUP, name: 'same' },
      headers: { etag: '"2"' },
    });
    api.on('PUT /worker-groups/renderers', { status: 200, body: { ...GROUP, revision: 3 } });
    api.on('POST /worker-groups', { status: 201, body: { ...GROUP, name: 'fresh', revision: 1 } });
    const file = JSON.stringify([
      { name: 'renderers', members: [{ url: 'http://127.0.0.1:7763' }] },
      { name: 'fresh' },
      // Equal once the defaults are applied: nothing to send.
      { ...GROUP, name: 'same', leaseMs: undefined },
    ]);
    cli.files.set('groups.json', file);
    const run = await cli.run('groups', 'apply', '-f', 'groups.json');
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(
      'replaced group renderers (revision 3)\ncreated group fresh (revision 1)\nunchanged group same (revision 2)\n',
    );
    const writes = api.requests.filter((r) => r.method !== 'GET');
    expect(writes.map((r) => [r.method, r.path, r.headers['if-match'], r.body])).toEqual([
      ['PUT', '/worker-groups/renderers', '"2"', { members: [{ url: 'http://127.0.0.1:7763' }] }],
      ['POST', '/worker-groups', undefined, { name: 'fresh' }],
    ]);
  });

  it.each([
    ['[{"members":[]}]', 'has no "name"'],
    ['{"name":"g","members":[{"url":"/x"}]}', 'members[0].url'],
    ['[{"name":"g"},{"name":"g"}]', 'in the file twice'],
  ])('apply refuses %s before calling the API', async (text, message) => {
    cli.files.set('g.json', text);
    const run = await cli.run('groups', 'apply', '-f', 'g.json');
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain(message);
    expect(api.requests).toEqual([]);
  });

  it('exits 2 for an unknown group', async () => {
    const run = await cli.run('groups', 'show', 'nope');
    expect(run.code).toBe(ExitCode.NotFound);
  });

  it('tasks ls shows a group target as group:<name>/<route><path>', async () => {
    api.on('GET /tasks', {
      status: 200,
      body: {
        items: [
          {
            etag: '"3"',
            owner: 's1',
            nextFireAt: null,
            task: {
              ...TASK,
              target: {
                method: 'POST',
                group: 'renderers',
                route: 'failover',
                path: '/jobs/r',
                headers: {},
                timeoutMs: 1000,
                success: {},
              },
            },
          },
        ],
        nextCursor: null,
      },
    });
    expect((await cli.run('tasks', 'ls')).stdout).toContain('POST group:renderers/failover/jobs/r');
  });
});

describe('nono tasks cancel', () => {
  it('asks the API to stop the execution, with the note', async () => {
    const executionId = '019ad000-0000-8000-8000-000000000001';
    api.on(`POST /tasks/nightly/executions/${executionId}/cancel`, {
      status: 202,
      body: { taskId: 'nightly', executionId, duplicate: false },
    });
    const run = await cli.run('tasks', 'cancel', 'nightly', executionId, '--note', 'wrong input');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`cancel requested for execution ${executionId} of task nightly\n`);
    expect(api.requests[0]?.body).toEqual({ note: 'wrong input' });
  });
});
