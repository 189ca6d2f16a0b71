import { type Command } from 'commander';
import { CliError, ExitCode } from '../cli-error.js';
import { type ApiClient } from '../api-client.js';
import { type CommandContext } from '../context.js';
import { renderTable } from '../table.js';
import { parseSince } from '../time-input.js';

/** A backfill as the API answers it (`GET /tasks/:id/backfills/:backfillId`). */
export interface BackfillView {
  readonly backfillId: string;
  readonly taskId: string;
  readonly state: 'running' | 'cancelled' | 'finished' | 'abandoned';
  readonly from: string;
  readonly to: string;
  readonly force: boolean;
  readonly total: number;
  readonly alreadySucceeded: number;
  readonly started: number;
  readonly running: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly lost: number;
  readonly lostInstants: readonly string[];
  readonly notStarted: number;
  readonly requestedAt: string;
}

interface BackfillPlan {
  readonly instants: number;
  readonly alreadySucceeded: number;
  readonly fires: ReadonlyArray<{ nominalTime: string; executionId: string; firstAttempt: number }>;
}

const base = (taskId: string): string => `/tasks/${encodeURIComponent(taskId)}/backfills`;

/** `[#########-----------]  512/990  ok 500  failed 2  lost 0  running 8` */
export function renderProgress(b: BackfillView, width = 30): string {
  const done = b.succeeded + b.failed + b.lost;
  const filled = b.total === 0 ? width : Math.round((done / b.total) * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  return `[${bar}] ${String(done).padStart(String(b.total).length)}/${b.total}  ok ${b.succeeded}  failed ${b.failed}  lost ${b.lost}  running ${b.running}  ${b.state}`;
}

function summary(b: BackfillView): string {
  const lines = [`backfill ${b.backfillId} of task ${b.taskId}: ${b.state}`, renderProgress(b)];
  if (b.notStarted > 0) lines.push(`${b.notStarted} instants not started`);
  if (b.lost > 0)
    lines.push(
      `${b.lost} calls were in flight on a scheduler that died: recorded lost, not refired; backfill the window again to fire those that did not succeed`,
    );
  return `${lines.join('\n')}\n`;
}

/** Polls the backfill every second, drawing the progress bar, until it is over. */
async function follow(
  ctx: CommandContext,
  client: ApiClient,
  taskId: string,
  backfillId: string,
): Promise<BackfillView> {
  let last = '';
  for (;;) {
    const { body } = await client.get<BackfillView>(`${base(taskId)}/${encodeURIComponent(backfillId)}`);
    const line = renderProgress(body);
    if (!ctx.json && line !== last) ctx.io.err(`\r${line}`);
    last = line;
    if (body.state !== 'running' && body.running === 0) {
      if (!ctx.json) ctx.io.err('\n');
      return body;
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

export function registerBackfillCommands(program: Command, context: () => CommandContext): void {
  const backfills = program
    .command('backfills')
    .alias('backfill')
    .description("re-fire a task's past instants under their original execution ids");

  backfills
    .command('start')
    .description(
      "backfill the instants of the task's current schedule in [from, to]: those that already succeeded are left out (unless --force); follows the progress until it ends",
    )
    .argument('<task>', 'task id')
    .requiredOption('--from <when>', 'first instant: RFC 3339, or a duration ago (2h, 7d)')
    .option('--to <when>', 'last instant (inclusive): RFC 3339, or a duration ago; default now')
    .option('--force', 'fire the instants that already succeeded too')
    .option('--dry-run', 'list what would fire, fire nothing')
    .option('--rate <perSecond>', 'starts per second at most (default 10)', Number)
    .option('--concurrency <n>', 'calls in flight at most (default 4)', Number)
    .option('--allow-large-window', 'allow a window longer than the bound (7 days)')
    .option('--detach', 'print the backfill and return at once instead of following it')
    .action(
      async (
        taskId: string,
        options: {
          from: string;
          to?: string;
          force?: boolean;
          dryRun?: boolean;
          rate?: number;
          concurrency?: number;
          allowLargeWindow?: boolean;
          detach?: boolean;
        },
      ) => {
        const ctx = context();
        const now = ctx.io.now();
        const body = {
          from: parseSince(options.from, now, '--from'),
          // A second back: "now" on this machine must not be in the API's future.
          to:
            options.to === undefined
              ? new Date(now - 1_000).toISOString()
              : parseSince(options.to, now, '--to'),
          ...(options.force === true ? { force: true } : {}),
          ...(options.dryRun === true ? { dryRun: true } : {}),
          ...(options.rate === undefined ? {} : { ratePerSecond: options.rate }),
          ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
          ...(options.allowLargeWindow === true ? { allowLargeWindow: true } : {}),
        };
        const client = await ctx.client();
        if (options.dryRun === true) {
          const { body: plan } = await client.request<BackfillPlan>('POST', base(taskId), { body });
          ctx.print(plan, () => {
            const head = `dry run: ${plan.fires.length} of ${plan.instants} instants would fire (${plan.alreadySucceeded} succeeded already)\n`;
            const rows = plan.fires.map((f) => [f.nominalTime, f.executionId, String(f.firstAttempt)]);
            return head + (rows.length === 0 ? '' : renderTable(['NOMINAL', 'EXECUTION', 'ATTEMPT'], rows));
          });
          return;
        }
        const { body: started } = await client.request<BackfillView>('POST', base(taskId), { body });
        if (options.detach === true) {
          ctx.print(
            started,
            () =>
              `started backfill ${started.backfillId}: ${started.total} instants (${started.alreadySucceeded} succeeded already)\nfollow it with: nono backfills watch ${taskId} ${started.backfillId}\n`,
          );
          return;
        }
        if (!ctx.json)
          ctx.io.out(
            `backfill ${started.backfillId}: ${started.total} instants (${started.alreadySucceeded} succeeded already)\n`,
          );
        const over = await follow(ctx, client, taskId, started.backfillId);
        ctx.print(over, () => summary(over));
      },
    );

  backfills
    .command('watch')
    .description('follow a backfill with a progress bar until it ends')
    .argument('<task>', 'task id')
    .argument('<backfillId>', 'backfill id')
    .action(async (taskId: string, backfillId: string) => {
      const ctx = context();
      const over = await follow(ctx, await ctx.client(), taskId, backfillId);
      ctx.print(over, () => summary(over));
    });

  backfills
    .command('ls')
    .alias('list')
    .description("a task's backfills, newest first")
    .argument('<task>', 'task id')
    .action(async (taskId: string) => {
      const ctx = context();
      const { body } = await (await ctx.client()).get<{ items: BackfillView[] }>(base(taskId));
      ctx.print(body.items, () =>
        body.items.length === 0
          ? `no backfills of task ${taskId}\n`
          : renderTable(
              ['ID', 'STATE', 'FROM', 'TO', 'TOTAL', 'OK', 'FAILED', 'LOST', 'NOT STARTED'],
              body.items.map((b) => [
                b.backfillId,
                b.state,
                b.from,
                b.to,
                String(b.total),
                String(b.succeeded),
                String(b.failed),
                String(b.lost),
                String(b.notStarted),
              ]),
            ),
      );
    });

  backfills
    .command('cancel')
    .description('cancel a backfill: nothing more is claimed; calls already made finish')
    .argument('<task>', 'task id')
    .argument('<backfillId>', 'backfill id')
    .action(async (taskId: string, backfillId: string) => {
      const ctx = context();
      const { body } = await (
        await ctx.client()
      ).request<BackfillView>('POST', `${base(taskId)}/${encodeURIComponent(backfillId)}/cancel`, {
        body: {},
      });
      // Cancelling a cancelled backfill again is a no-op; one that ended otherwise cannot be.
      if (body.state !== 'cancelled')
        throw new CliError(ExitCode.Conflict, `backfill ${backfillId} had ended already (${body.state})`);
      ctx.print(body, () => summary(body));
    });
}
