import { EXECUTION_STATUSES } from '@nono/domain/execution-status';
import { AUDIT_SUBJECTS } from '@nono/domain';
import { type Command } from 'commander';
import { CliError, ExitCode } from '../cli-error.js';
import { type CommandContext } from '../context.js';
import { cellText, formatMs, renderRecord, renderTable } from '../table.js';
import { lastUtcDays, parseSince } from '../time-input.js';
import { positiveInt } from './options.js';

interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}
type Row = Record<string, unknown>;

// Only the list: the CLI starts faster without the rest of the domain (cron, zones).
const STATUSES: readonly string[] = EXECUTION_STATUSES;

/** Read-only views: the cluster, and history (executions, reports, audit) through the API. */
export function registerViewCommands(program: Command, context: () => CommandContext): void {
  program
    .command('schedulers')
    .description('live schedulers and the tasks each owns')
    .action(async () => {
      const ctx = context();
      const { body } = await (
        await ctx.client()
      ).get<{
        generation: number | null;
        schedulers: Array<Row & { tasks: string[] }>;
        departed: string[];
      }>('/schedulers');
      ctx.print(body, () => {
        if (body.schedulers.length === 0)
          return 'no scheduler is running: tasks will not fire until one joins\n';
        const table = renderTable(
          ['ID', 'HOST', 'PID', 'TASKS', 'STARTED', 'OPS'],
          body.schedulers.map((s) => [
            s['id'],
            s['host'],
            s['pid'],
            s.tasks.length,
            s['startedAt'],
            s['opsUrl'],
          ]),
        );
        const departed =
          body.departed.length === 0
            ? ''
            : `departed (the leader is reassigning their tasks): ${body.departed.join(', ')}\n`;
        return table + departed;
      });
    });

  program
    .command('executions')
    .description('recent executions, newest nominal instant first (from the history service)')
    .option('-t, --task <id>', 'only this task')
    .option('-s, --status <status>', `only this status: ${STATUSES.join(', ')}`)
    .option('--since <when>', 'only nominal instants since: 30s, 15m, 2h, 7d or an RFC 3339 instant')
    .option('--scheduler <id>', 'only executions fired by this scheduler')
    .option('-n, --limit <n>', 'how many (1-500)', positiveInt(500), 20)
    .action(
      async (options: {
        task?: string;
        status?: string;
        since?: string;
        scheduler?: string;
        limit: number;
      }) => {
        const ctx = context();
        if (options.status !== undefined && !STATUSES.includes(options.status)) {
          throw new CliError(
            ExitCode.Usage,
            `--status "${options.status}" is not valid: expected one of ${STATUSES.join(', ')}`,
          );
        }
        const from = options.since === undefined ? undefined : parseSince(options.since, ctx.io.now());
        const { body } = await (
          await ctx.client()
        ).get<Page<Row>>('/executions', {
          query: {
            taskId: options.task,
            status: options.status,
            schedulerId: options.scheduler,
            from,
            limit: options.limit,
          },
        });
        ctx.print(body.items, () =>
          body.items.length === 0
            ? 'no executions recorded (yet): history shows a fire a moment after it happens\n'
            : renderExecutions(body.items),
        );
      },
    );

  program
    .command('execution')
    .description(
      'one execution: its trigger parameters and each attempt with its member, captured output and cancel URL answer',
    )
    .argument('<executionId>', 'the execution id (nono executions shows them with --json)')
    .action(async (executionId: string) => {
      const ctx = context();
      const { body } = await (
        await ctx.client()
      ).get<ExecutionDetail>(`/executions/${encodeURIComponent(executionId)}`);
      ctx.print(body, () => renderExecution(body));
    });

  program
    .command('report')
    .description(
      "a task's success rate and timings (and per group member), a worker group's results per member, or per-task daily totals",
    )
    .option('-t, --task <id>', "one task's report over the last --days")
    .option('-g, --group <name>', "one worker group's attempts per member over the last --days")
    .option('-d, --days <n>', 'how many days back, today included (1-31)', positiveInt(31), 1)
    .action(async (options: { task?: string; group?: string; days: number }) => {
      const ctx = context();
      if (options.task !== undefined && options.group !== undefined)
        throw new CliError(ExitCode.Usage, 'give --task or --group, not both');
      const client = await ctx.client();
      const now = ctx.io.now();
      if (options.group !== undefined) {
        const from = new Date(now - options.days * 86_400_000).toISOString();
        const { body } = await client.get<{ members: Row[] }>(
          `/reports/groups/${encodeURIComponent(options.group)}`,
          { query: { from } },
        );
        ctx.print(body, () =>
          body.members.length === 0
            ? `no attempts went to a member of ${options.group} in the last ${options.days} day(s)\n`
            : renderMembers(body.members),
        );
        return;
      }
      if (options.task !== undefined) {
        const from = new Date(now - options.days * 86_400_000).toISOString();
        const { body } = await client.get<Row>(`/reports/tasks/${encodeURIComponent(options.task)}`, {
          query: { from },
        });
        ctx.print(body, () => renderTaskReport(body));
        return;
      }
      const rows: Row[] = [];
      for (const day of lastUtcDays(options.days, now)) {
        const { body } = await client.get<Page<Row>>('/reports/daily', { query: { day } });
        rows.push(...body.items);
      }
      ctx.print(rows, () =>
        rows.length === 0
          ? `no executions in the last ${options.days} day(s)\n`
          : renderTable(
              [
                'DAY',
                'TASK',
                'RUNS',
                'OK',
                'FAILED',
                'TIMED-OUT',
                'LOST',
                'SKIPPED',
                'MISSED',
                'SUCCESS',
                'MEAN',
                'MAX',
              ],
              rows.map((r) => [
                r['day'],
                r['taskId'],
                r['runs'],
                r['succeeded'],
                r['failed'],
                r['timedOut'],
                r['lost'],
                r['skipped'],
                r['missed'],
                formatRate(r['successRate']),
                formatMs(r['meanDurationMs']),
                formatMs(r['maxDurationMs']),
              ]),
            ),
      );
    });

  program
    .command('audit')
    .description(
      'who changed, paused, resumed, deleted or triggered which task, and who changed which alert rule or calendar, newest first',
    )
    .option('-t, --task <id>', 'only this task')
    .option('-r, --rule <id>', "only this alert rule's changes")
    .option('-c, --calendar <name>', "only this calendar's changes")
    .option('--subject <subject>', `only entries about: ${AUDIT_SUBJECTS.join(' or ')}`)
    .option('--actor <id>', 'only this actor (role:hash-prefix)')
    .option('--since <when>', 'only since: 30s, 15m, 2h, 7d or an RFC 3339 instant')
    .option('-n, --limit <n>', 'how many (1-500)', positiveInt(500), 20)
    .action(
      async (options: {
        task?: string;
        rule?: string;
        calendar?: string;
        subject?: string;
        actor?: string;
        since?: string;
        limit: number;
      }) => {
        const ctx = context();
        if (options.subject !== undefined && !(AUDIT_SUBJECTS as readonly string[]).includes(options.subject))
          throw new CliError(
            ExitCode.Usage,
            `--subject "${options.subject}" is not valid: expected ${AUDIT_SUBJECTS.join(' or ')}`,
          );
        const from = options.since === undefined ? undefined : parseSince(options.since, ctx.io.now());
        const { body } = await (
          await ctx.client()
        ).get<Page<Row>>('/audit', {
          query: {
            subject: options.subject,
            taskId: options.task,
            ruleId: options.rule,
            calendar: options.calendar,
            actor: options.actor,
            from,
            limit: options.limit,
          },
        });
        ctx.print(body.items, () =>
          body.items.length === 0
            ? 'no audit entries (yet)\n'
            : renderTable(
                ['AT', 'SUBJECT', 'WHAT', 'ACTOR', 'REVISION'],
                body.items.map((a) => [
                  a['at'],
                  // Neither task ids, alert rule ids nor calendar names hold a colon: "rule:<id>" and
                  // "calendar:<name>" name one unambiguously.
                  a['subject'] === 'alert-rule'
                    ? `rule:${String(a['ruleId'])}`
                    : a['subject'] === 'calendar'
                      ? `calendar:${String(a['calendar'])}`
                      : a['taskId'],
                  shortType(a['type']),
                  a['actorId'],
                  a['revision'],
                ]),
              ),
        );
      },
    );

  program
    .command('ledger')
    .description(
      'every instant a task was due in a window, next to what happened to it; exit 1 when one is unaccounted for, doubled, stale or undue',
    )
    .requiredOption('-t, --task <id>', 'the task')
    .requiredOption('--from <when>', 'window start (inclusive): an RFC 3339 instant, or 30s, 15m, 2h, 7d ago')
    .option(
      '--to <when>',
      'window end (exclusive): an RFC 3339 instant, or 30s, 15m, 2h, 7d ago (default: now)',
    )
    .option('--flagged', 'list only the flagged instants (the summary still counts all)')
    .action(async (options: { task: string; from: string; to?: string; flagged?: boolean }) => {
      const ctx = context();
      const now = ctx.io.now();
      const from = parseSince(options.from, now, '--from');
      const to = options.to === undefined ? new Date(now).toISOString() : parseSince(options.to, now, '--to');
      const { body } = await (
        await ctx.client()
      ).get<LedgerBody>(`/tasks/${encodeURIComponent(options.task)}/ledger`, { query: { from, to } });
      ctx.print(body, () => renderLedger(body, options.flagged === true));
      const s = body.summary;
      const problems = (['unaccounted', 'doubled', 'stale', 'undue'] as const)
        .filter((flag) => s[flag] > 0)
        .map((flag) => `${s[flag]} ${flag}`);
      if (problems.length > 0)
        throw new CliError(
          ExitCode.LedgerViolation,
          `the ledger of ${options.task} from ${body.from} to ${body.to} shows ${problems.join(', ')}`,
        );
    });

  const history = program.command('history').description('the history service');
  history
    .command('rebuild')
    .description('rebuild the history database from the Kafka topics')
    .action(async () => {
      // The API forwards history's GETs only, and a rebuild needs history's admin token, which
      // the API does not hold: say so and say how, rather than guess.
      throw new CliError(ExitCode.Unsupported, 'history rebuild is not available through the API', [
        "on the history service's host run: NONO_HISTORY_ADMIN_TOKEN=<token> node services/history/dist/main.js rebuild",
        'a running service rebuilds live and swaps the new database in while it keeps answering; a stopped one is rebuilt offline',
        'with npm start the token is the one in .nono/local-token; see services/history/README.md ("Commands")',
      ]);
    });
}

/** `nono.task.paused.v1` → `paused`. */
function shortType(type: unknown): string {
  return typeof type === 'string'
    ? type.replace(/^nono\.(task|alert-rule)\./, '').replace(/\.v\d+$/, '')
    : '-';
}

interface LedgerBody {
  readonly from: string;
  readonly to: string;
  readonly summary: Record<
    | 'due'
    | 'fired'
    | 'succeeded'
    | 'failed'
    | 'timedOut'
    | 'misfired'
    | 'lost'
    | 'running'
    | 'pending'
    | 'manual'
    | 'unaccounted'
    | 'doubled'
    | 'stale'
    | 'undue',
    number
  > & {
    readonly skipped: Record<string, number>;
  };
  readonly entries: ReadonlyArray<{
    readonly nominalTime: string;
    readonly kind: string;
    readonly due: string;
    readonly outcome: string;
    readonly reason: string | null;
    readonly actions: ReadonlyArray<{
      kind: string;
      attempt: number;
      schedulerId: string;
      fencingToken: number;
    }>;
    readonly flags: readonly string[];
  }>;
}

function renderLedger(body: LedgerBody, flaggedOnly: boolean): string {
  const entries = flaggedOnly ? body.entries.filter((e) => e.flags.length > 0) : body.entries;
  const table =
    entries.length === 0
      ? flaggedOnly
        ? 'no instant flagged\n'
        : 'nothing was due and nothing ran in this window\n'
      : renderTable(
          ['NOMINAL', 'KIND', 'DUE', 'OUTCOME', 'REASON', 'ATTEMPTS', 'BY (SCHEDULER@TOKEN)', 'FLAGS'],
          entries.map((e) => {
            const starts = e.actions.filter((a) => a.kind === 'fired');
            return [
              e.nominalTime,
              e.kind,
              e.due,
              e.outcome,
              e.reason,
              starts.length,
              [...new Set(e.actions.map((a) => `${a.schedulerId}@${a.fencingToken}`))].join(' '),
              e.flags.join(' '),
            ];
          }),
        );
  const s = body.summary;
  const skipped = Object.entries(s.skipped)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return (
    table +
    `due ${s.due}, fired ${s.fired}, succeeded ${s.succeeded}, failed ${s.failed}, timed out ${s.timedOut}, ` +
    `skipped ${skipped === '' ? '0' : skipped}, misfired ${s.misfired}, lost ${s.lost}, running ${s.running}, ` +
    `pending ${s.pending}, manual ${s.manual}\n` +
    `unaccounted ${s.unaccounted}, doubled ${s.doubled}, stale ${s.stale}, undue ${s.undue}\n`
  );
}

/** A task report as `key  value` lines; percentiles on one line each, as durations. */
function renderTaskReport(report: Row): string {
  const { durationMs, latenessMs, successRate, members, ...counts } = report;
  const text = renderRecord({
    ...counts,
    success: formatRate(successRate),
    duration: formatPercentiles(durationMs),
    lateness: formatPercentiles(latenessMs),
  });
  return Array.isArray(members) && members.length > 0
    ? `${text}\nper member:\n${renderMembers(members as Row[])}`
    : text;
}

/** A per-member report as a table: one row per group member. */
function renderMembers(members: readonly Row[]): string {
  return renderTable(
    [
      'GROUP',
      'MEMBER',
      'ATTEMPTS',
      'OK',
      'FAILED',
      'TIMED-OUT',
      'CANCELLED',
      'RUNNING',
      'SUCCESS',
      'DURATION',
      'LAST',
    ],
    members.map((m) => [
      m['group'],
      m['url'],
      m['attempts'],
      m['succeeded'],
      m['failed'],
      m['timedOut'],
      m['cancelled'],
      m['inProgress'],
      formatRate(m['successRate']),
      formatPercentiles(m['durationMs']),
      typeof m['lastStartedAt'] === 'string' ? `${cellText(m['lastStatus'])} at ${m['lastStartedAt']}` : '-',
    ]),
  );
}

/** `{ p50: 6, p95: 1250, … }` → "p50 6ms, p95 1.3s, …" in the order given. */
function formatPercentiles(value: unknown): string {
  if (typeof value !== 'object' || value === null) return '-';
  return Object.entries(value)
    .map(([name, ms]) => `${name} ${formatMs(ms)}`)
    .join(', ');
}

function formatRate(rate: unknown): string {
  return typeof rate === 'number' ? `${(rate * 100).toFixed(1)}%` : '-';
}

/**
 * The executions table. Shard and broadcast executions (units of an instant) add two columns:
 * which shard of how many, and the member that ran it; a page without any keeps the plain table.
 */
function renderExecutions(items: readonly Row[]): string {
  const units = items.some((e) => e['shardIndex'] != null || e['memberUrl'] != null);
  const headers = [
    'NOMINAL',
    'TASK',
    'STATUS',
    'ATTEMPTS',
    'LATE',
    'DURATION',
    'HTTP',
    'SCHEDULER',
    'REASON',
  ];
  return renderTable(
    units ? [...headers, 'SHARD', 'MEMBER'] : headers,
    items.map((e) => {
      const row = [
        e['nominalTime'],
        e['taskId'],
        e['status'],
        e['attempts'],
        formatMs(e['lateMs']),
        formatMs(e['durationMs']),
        e['httpStatus'],
        e['schedulerId'],
        e['reason'],
      ];
      if (!units) return row;
      const index = e['shardIndex'];
      const count = e['shardCount'];
      const shard = typeof index === 'number' && typeof count === 'number' ? `${index}/${count}` : undefined;
      return [...row, shard, e['memberUrl']];
    }),
  );
}

interface CapturedOutput {
  readonly body: string;
  readonly encoding: 'utf8' | 'base64';
  readonly bytes: number;
  readonly truncated: boolean;
  readonly headers: Readonly<Record<string, string>>;
}

interface AttemptDetail {
  readonly attempt: number;
  readonly status: string;
  readonly startedAt: string | null;
  readonly durationMs: number | null;
  readonly httpStatus: number | null;
  readonly error: string | null;
  readonly member?: { readonly group: string; readonly url: string } | null;
  readonly output?: CapturedOutput | null;
  readonly cancelCall?: {
    readonly url: string;
    readonly httpStatus?: number;
    readonly error?: string;
    readonly durationMs: number;
  } | null;
}

type ExecutionDetail = Row & {
  readonly parameters?: Row | null;
  readonly attemptHistory: AttemptDetail[];
};

/** An execution as text: its fields, its attempts as a table, then each attempt's output as it came. */
function renderExecution(e: ExecutionDetail): string {
  const { attemptHistory, parameters, ...fields } = e;
  let text = renderRecord(fields);
  if (parameters !== undefined && parameters !== null)
    text += `\ntrigger parameters:\n${JSON.stringify(parameters, null, 2)}\n`;
  if (attemptHistory.length > 0)
    text +=
      '\n' +
      renderTable(
        ['ATTEMPT', 'STATUS', 'STARTED', 'DURATION', 'HTTP', 'MEMBER', 'ERROR'],
        attemptHistory.map((a) => [
          a.attempt,
          a.status,
          a.startedAt,
          formatMs(a.durationMs),
          a.httpStatus,
          a.member == null ? null : `${a.member.group} ${a.member.url}`,
          a.error,
        ]),
      );
  for (const a of attemptHistory) {
    if (a.output != null) {
      const { output } = a;
      const note = `${output.bytes} bytes${output.truncated ? ', truncated' : ''}${output.encoding === 'base64' ? ', base64 (not UTF-8)' : ''}`;
      text += `\nattempt ${a.attempt} output (${note}):\n`;
      for (const [name, value] of Object.entries(output.headers)) text += `${name}: ${value}\n`;
      text += `${output.body}\n`;
    }
    if (a.cancelCall != null) {
      const call = a.cancelCall;
      text += `\nattempt ${a.attempt} cancel URL ${call.url}: ${call.error === undefined ? `answered ${call.httpStatus ?? '-'}` : `failed: ${call.error}`} in ${formatMs(call.durationMs)}\n`;
    }
  }
  return text;
}
