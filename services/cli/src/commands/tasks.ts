import { type Command } from 'commander';
import { CliError, ExitCode } from '../cli-error.js';
import { type ApiClient } from '../api-client.js';
import { type CommandContext } from '../context.js';
import { cellText, renderTable } from '../table.js';
import { type TaskDocument, parseTaskDocuments, withoutManagedFields } from '../task-file.js';
import { type ServerTask, planApply, renderPlan } from '../task-plan.js';
import { countOption } from './options.js';

type Task = Record<string, unknown> & { id: string };
interface TaskListItem {
  readonly etag: string;
  readonly owner: string | null;
  readonly task: Task;
}

const path = (id: string): string => `/tasks/${encodeURIComponent(id)}`;

export function registerTaskCommands(program: Command, context: () => CommandContext): void {
  const tasks = program.command('tasks').description('define, change and operate scheduled tasks');

  tasks
    .command('ls')
    .alias('list')
    .description('list tasks (every page)')
    .option('-l, --label <key:value>', 'only tasks with this label (repeatable)', collect, [])
    .option('--paused', 'only paused tasks')
    .option('--active', 'only tasks that are not paused')
    .option('--owner <schedulerId>', 'only tasks this scheduler owns')
    .action(async (options: { label: string[]; paused?: boolean; active?: boolean; owner?: string }) => {
      const ctx = context();
      if (options.paused === true && options.active === true)
        throw new CliError(ExitCode.Usage, '--paused and --active exclude each other');
      const client = await ctx.client();
      const items = await listTasks(client, options.label, {
        ...(options.paused === true ? { paused: 'true' } : {}),
        ...(options.active === true ? { paused: 'false' } : {}),
        ...(options.owner === undefined ? {} : { owner: options.owner }),
      });
      ctx.print(items, () =>
        items.length === 0
          ? 'no tasks yet: define one with `nono tasks create -f task.json`\n'
          : renderTable(
              ['ID', 'STATE', 'SCHEDULE', 'TARGET', 'OWNER'],
              items.map(({ task, owner }) => [
                task.id,
                task['paused'] === true ? 'paused' : 'active',
                describeSchedule(task['schedule']),
                describeTarget(task['target']),
                owner,
              ]),
            ),
      );
    });

  tasks
    .command('get')
    .description('print a task definition (JSON; save it, edit it, `apply` it)')
    .argument('<id>', 'task id')
    .action(async (id: string) => {
      const ctx = context();
      const response = await (await ctx.client()).get<Task>(path(id));
      ctx.print(
        { etag: response.etag, task: response.body },
        () => `${JSON.stringify(response.body, null, 2)}\n`,
      );
    });

  tasks
    .command('create')
    .description('define new tasks from a JSON file (one task or an array)')
    .requiredOption('-f, --file <path>', 'the task file, - for stdin')
    .action(async (options: { file: string }) => {
      const ctx = context();
      const documents = await readDocuments(ctx, options.file);
      const client = await ctx.client();
      const results = [];
      for (const document of documents) {
        const created = await client.request<Task>('POST', '/tasks', { body: document });
        results.push({ id: created.body.id, action: 'created', etag: created.etag });
        if (!ctx.json) ctx.io.out(`created task ${created.body.id}\n`);
      }
      if (ctx.json) ctx.print(results, () => '');
    });

  tasks
    .command('apply')
    .description(
      'make the server match the task files: create what is missing, update what differs (If-Match on the version read); prints the plan',
    )
    .requiredOption('-f, --file <path>', 'a task file, a directory of *.json task files, or - for stdin')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--prune', 'also delete the tasks on the server that no file names (within --selector)')
    .option(
      '-l, --selector <key:value>',
      'with --prune: only tasks with this label are candidates (repeatable)',
      collect,
      [],
    )
    .action(async (options: { file: string; dryRun?: boolean; prune?: boolean; selector: string[] }) => {
      const ctx = context();
      const documents = await readTaskFiles(ctx, options.file);
      const client = await ctx.client();
      const server = new Map<string, ServerTask>();
      for (const document of documents) {
        const existing = await client.find<Task>(path(document.id));
        if (existing !== undefined) server.set(document.id, { task: existing.body, etag: existing.etag });
      }
      const pruneCandidates: string[] = [];
      if (options.prune === true)
        for (const { task, etag } of await listTasks(client, options.selector)) {
          pruneCandidates.push(task.id);
          if (!server.has(task.id)) server.set(task.id, { task, etag });
        }
      const plan = planApply(documents, server, {
        now: ctx.io.now(),
        prune: options.prune === true,
        pruneCandidates,
      });
      if (options.dryRun === true) {
        ctx.print({ dryRun: true, plan: plan.map(({ body: _body, ...step }) => step) }, () =>
          renderPlan(plan),
        );
        return;
      }
      const results = [];
      for (const step of plan) {
        const ifMatch = step.etag === undefined ? {} : { ifMatch: step.etag };
        if (step.action === 'create') {
          const created = await client.request<Task>('POST', '/tasks', { body: step.body });
          results.push({ id: step.id, action: 'created', changes: [], etag: created.etag });
        } else if (step.action === 'update') {
          const updated = await client.request<Task>('PUT', path(step.id), { body: step.body, ...ifMatch });
          results.push({ id: step.id, action: 'updated', changes: step.changes, etag: updated.etag });
        } else if (step.action === 'delete') {
          await client.request('DELETE', path(step.id), ifMatch);
          results.push({ id: step.id, action: 'deleted', changes: [] });
        } else results.push({ id: step.id, action: 'unchanged', changes: [] });
      }
      ctx.print(results, () => renderPlan(plan, true));
    });

  tasks
    .command('export')
    .description(
      'write every task (or those with a label) to DIR, one <id>.json file each, ready for `nono tasks apply -f DIR`',
    )
    .argument('<dir>', 'the directory to write to (made if missing)')
    .option('-l, --label <key:value>', 'only tasks with this label (repeatable)', collect, [])
    .action(async (dir: string, options: { label: string[] }) => {
      const ctx = context();
      const client = await ctx.client();
      const written: string[] = [];
      for (const { task } of await listTasks(client, options.label)) {
        const file = `${dir.replace(/\/+$/, '')}/${task.id}.json`;
        await ctx.io.writeFile(file, `${JSON.stringify(withoutManagedFields(task), null, 2)}\n`);
        written.push(file);
      }
      ctx.print(
        { written },
        () => `wrote ${written.length} task file${written.length === 1 ? '' : 's'} to ${dir}\n`,
      );
    });

  tasks
    .command('edit')
    .description(
      'open the task in $VISUAL or $EDITOR, then save it with If-Match (a concurrent change is refused)',
    )
    .argument('<id>', 'task id')
    .action(async (id: string) => {
      const ctx = context();
      const client = await ctx.client();
      const current = await client.get<Task>(path(id));
      const before = `${JSON.stringify(withoutManagedFields(current.body), null, 2)}\n`;
      const file = ctx.io.tempPath(`nono-${id}.json`);
      await ctx.io.writeFile(file, before);
      await ctx.io.openEditor(file);
      const after = (await ctx.io.readFile(file)) ?? '';
      if (after === before) {
        ctx.print({ id, action: 'unchanged' }, () => `no change: task ${id} left as it was\n`);
        return;
      }
      const kept = `your edit is kept in ${file}: fix it and run \`nono tasks apply -f ${file}\``;
      try {
        const [document] = parseTaskDocuments(after, file);
        if (document === undefined || document.id !== id)
          throw new CliError(
            ExitCode.Usage,
            `${file}: "id" must stay "${id}" (create a new task with \`nono tasks create\`)`,
          );
        const saved = await client.request<Task>('PUT', path(id), { body: document, ifMatch: current.etag });
        ctx.print(
          { id, action: 'replaced', etag: saved.etag },
          () => `replaced task ${id} (revision ${String(saved.body['revision'])})\n`,
        );
      } catch (error) {
        if (error instanceof CliError)
          throw new CliError(error.exitCode, error.message, [...error.details, kept]);
        throw error;
      }
    });

  tasks
    .command('pause')
    .description('stop firing a task until it is resumed')
    .argument('<id>', 'task id')
    .option('--note <text>', 'why (shown in the UI and the audit trail)')
    .action(async (id: string, options: { note?: string }) => {
      const ctx = context();
      const body = options.note === undefined ? {} : { note: options.note };
      const saved = await (await ctx.client()).request<Task>('POST', `${path(id)}/pause`, { body });
      ctx.print(saved.body, () => `paused task ${id}\n`);
    });

  tasks
    .command('resume')
    .description('fire a paused task again (missed instants follow its misfire policy)')
    .argument('<id>', 'task id')
    .action(async (id: string) => {
      const ctx = context();
      const saved = await (await ctx.client()).request<Task>('POST', `${path(id)}/resume`, { body: {} });
      ctx.print(saved.body, () => `resumed task ${id}\n`);
    });

  tasks
    .command('cancel')
    .description(
      'stop a running execution: the scheduler running it aborts the call and records it cancelled with you and the note; no retry follows',
    )
    .argument('<id>', 'task id')
    .argument('<executionId>', 'the execution (nono executions --task <id> lists them)')
    .option('--note <text>', 'why: kept on the cancelled fact (at most 500 characters)')
    .action(async (id: string, executionId: string, options: { note?: string }) => {
      const ctx = context();
      const response = await (
        await ctx.client()
      ).request<{ duplicate: boolean }>(
        'POST',
        `${path(id)}/executions/${encodeURIComponent(executionId)}/cancel`,
        {
          body: options.note === undefined ? {} : { note: options.note },
        },
      );
      ctx.print(
        response.body,
        () =>
          `${response.body.duplicate ? 'cancel already requested' : 'cancel requested'} for execution ${executionId} of task ${id}
` +
          `follow it with: nono executions --task ${id}
`,
      );
    });

  tasks
    .command('trigger')
    .description('fire a task once, now (its owner fires it within a second or so)')
    .argument('<id>', 'task id')
    .option('--request-id <id>', 'your id for this request: repeating it does not fire twice')
    .option(
      '--parameters <json>',
      'a JSON object sent to the worker with this run only (under "parameters" in the default body, or merged into a fixed JSON body)',
    )
    .action(async (id: string, options: { requestId?: string; parameters?: string }) => {
      const ctx = context();
      const body = {
        ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
        ...(options.parameters === undefined ? {} : { parameters: parseParameters(options.parameters) }),
      };
      const response = await (
        await ctx.client()
      ).request<{ executionId: string; requestId: string; duplicate: boolean }>(
        'POST',
        `${path(id)}/trigger`,
        { body },
      );
      const { executionId, requestId, duplicate } = response.body;
      ctx.print(
        response.body,
        () =>
          `${duplicate ? 'already requested' : 'triggered'} task ${id}: execution ${executionId} (request ${requestId})\n` +
          `follow it with: nono executions --task ${id}\n`,
      );
    });

  tasks
    .command('rm')
    .alias('delete')
    .description('delete a task (and its fire state)')
    .argument('<id>', 'task id')
    .option('--if-match <etag>', 'delete only if the task is still at this version')
    .action(async (id: string, options: { ifMatch?: string }) => {
      const ctx = context();
      await (await ctx.client()).request('DELETE', path(id), { ifMatch: options.ifMatch });
      ctx.print({ id, action: 'deleted' }, () => `deleted task ${id}\n`);
    });

  tasks
    .command('preview')
    .description('the next fire times of a cron expression (5 fields, or 6 with seconds)')
    .argument('<cron>', "cron expression, quoted: '*/5 * * * *'")
    .option('--tz <zone>', 'IANA time zone the expression is read in', 'UTC')
    .option('--count <n>', 'how many instants (1-100)', countOption, 10)
    .option('--id <task-id>', 'the id the task has or will have (needed when the cron uses H)')
    .action(async (expression: string, options: { tz: string; count: number; id?: string }) => {
      const ctx = context();
      const response = await (
        await ctx.client()
      ).request<{
        timeZone: string;
        fireTimes: Array<{ utc: string; local: string }>;
        dstEffects?: Array<{ message: string }>;
      }>('POST', '/preview', {
        body: {
          schedule: { kind: 'cron', expression, timeZone: options.tz },
          count: options.count,
          ...(options.id === undefined ? {} : { taskId: options.id }),
        },
      });
      const { timeZone, fireTimes, dstEffects = [] } = response.body;
      ctx.print(
        response.body,
        () =>
          renderTable(
            ['UTC', `LOCAL (${timeZone})`],
            fireTimes.map((fire) => [fire.utc, fire.local]),
          ) + dstEffects.map((effect) => `DST: ${effect.message}\n`).join(''),
      );
    });
}

/** Every page of `GET /tasks` with these labels and filters. */
async function listTasks(
  client: ApiClient,
  labels: readonly string[],
  filters: Readonly<Record<string, string>> = {},
): Promise<TaskListItem[]> {
  const items: TaskListItem[] = [];
  let after: string | undefined;
  do {
    const query = new URLSearchParams(filters);
    for (const label of labels) query.append('label', label);
    query.set('limit', '500');
    if (after !== undefined) query.set('after', after);
    const page = await client.get<{ items: TaskListItem[]; nextCursor: string | null }>(
      `/tasks?${query.toString()}`,
    );
    items.push(...page.body.items);
    after = page.body.nextCursor ?? undefined;
  } while (after !== undefined);
  return items;
}

/** A task file, `-`, or a directory: every `*.json` in it, in name order. */
async function readTaskFiles(ctx: CommandContext, file: string): Promise<TaskDocument[]> {
  const names = await ctx.io.listDir(file);
  if (names === undefined) return readDocuments(ctx, file);
  const files = names.filter((name) => name.endsWith('.json'));
  if (files.length === 0) throw new CliError(ExitCode.Usage, `${file} holds no *.json task file`);
  const documents: TaskDocument[] = [];
  for (const name of files)
    documents.push(...(await readDocuments(ctx, `${file.replace(/\/+$/, '')}/${name}`)));
  return documents;
}

async function readDocuments(ctx: CommandContext, file: string): Promise<TaskDocument[]> {
  const { text, source } = await ctx.readInput(file);
  return parseTaskDocuments(text, source);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function describeSchedule(schedule: unknown): string {
  const s = (schedule ?? {}) as Record<string, unknown>;
  switch (s['kind']) {
    case 'cron':
      return `cron ${cellText(s['expression'])}${s['timeZone'] === 'UTC' || s['timeZone'] === undefined ? '' : ` ${cellText(s['timeZone'])}`}`;
    case 'interval':
      return `every ${formatEvery(Number(s['everyMs']))}`;
    case 'once':
      return `once at ${cellText(s['at'])}`;
    default:
      return '?';
  }
}

function formatEvery(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function describeTarget(target: unknown): string {
  const t = (target ?? {}) as Record<string, unknown>;
  // A group target: group:<name>/<route><path>, e.g. POST group:renderers/failover/jobs/report
  const where =
    typeof t['group'] === 'string'
      ? `group:${t['group']}/${cellText(t['route'] ?? 'round-robin')}${typeof t['path'] === 'string' ? t['path'] : ''}`
      : cellText(t['url'] ?? '?');
  return `${cellText(t['method'] ?? 'POST')} ${where}`;
}

/** `--parameters`: a JSON object, or a usage error saying what is wrong with it. */
function parseParameters(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(ExitCode.Usage, `--parameters is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CliError(ExitCode.Usage, '--parameters must be a JSON object, e.g. \'{"region":"eu"}\'');
  return parsed as Record<string, unknown>;
}
