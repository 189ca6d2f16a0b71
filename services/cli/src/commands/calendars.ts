import { type Command } from 'commander';
import { CliError, ExitCode } from '../cli-error.js';
import { type CommandContext } from '../context.js';
import { renderTable } from '../table.js';

type CalendarRow = Record<string, unknown> & { name: string };

const path = (name: string) => `/calendars/${encodeURIComponent(name)}`;

/** `nono calendars …`: exclusion calendars, which tasks name in `calendars` (docs/SCHEDULES.md). */
export function registerCalendarCommands(program: Command, context: () => CommandContext): void {
  const calendars = program
    .command('calendars')
    .description('exclusion calendars: local dates on which the tasks that name them do not fire');

  calendars
    .command('ls')
    .description('every calendar: zone and how many dates and ranges it excludes')
    .action(async () => {
      const ctx = context();
      const { body } = await (await ctx.client()).get<{ items: CalendarRow[] }>('/calendars');
      ctx.print(body.items, () =>
        body.items.length === 0
          ? 'no calendars\n'
          : renderTable(
              ['NAME', 'ZONE', 'DATES', 'RANGES', 'REVISION', 'DESCRIPTION'],
              body.items.map((c) => [
                c.name,
                c['timeZone'],
                Array.isArray(c['dates']) ? c['dates'].length : 0,
                Array.isArray(c['ranges']) ? c['ranges'].length : 0,
                c['revision'],
                c['description'],
              ]),
            ),
      );
    });

  calendars
    .command('get')
    .description('one calendar as JSON (a file `calendars apply` takes back)')
    .argument('<name>', 'calendar name')
    .action(async (name: string) => {
      const ctx = context();
      const { body } = await (await ctx.client()).get<CalendarRow>(path(name));
      ctx.print(body, () => `${JSON.stringify(body, null, 2)}\n`);
    });

  calendars
    .command('apply')
    .description('create or replace a calendar from a JSON file (`-` for stdin) with a "name"')
    .requiredOption('-f, --file <file>', 'the calendar: { name, timeZone, dates?, ranges?, description? }')
    .action(async (options: { file: string }) => {
      const ctx = context();
      const text = await ctx.io.readFile(options.file);
      if (text === undefined) throw new CliError(ExitCode.Usage, `cannot read ${options.file}`);
      let document: unknown;
      try {
        document = JSON.parse(text);
      } catch (error) {
        throw new CliError(ExitCode.Usage, `${options.file} is not valid JSON: ${(error as Error).message}`);
      }
      if (typeof document !== 'object' || document === null || Array.isArray(document))
        throw new CliError(ExitCode.Usage, `${options.file} must hold one JSON object (a calendar)`);
      const {
        name,
        createdAt: _c,
        updatedAt: _u,
        revision: _r,
        ...spec
      } = document as Record<string, unknown>;
      if (typeof name !== 'string' || name === '')
        throw new CliError(ExitCode.Usage, `${options.file} has no "name"`);
      const client = await ctx.client();
      const existing = await client.find<CalendarRow>(path(name));
      const saved = await client.request<CalendarRow>('PUT', path(name), {
        body: spec,
        ...(existing?.etag === undefined ? {} : { ifMatch: existing.etag }),
      });
      const action = existing === undefined ? 'created' : 'replaced';
      ctx.print({ name, action, revision: saved.body['revision'] }, () => `${action} calendar ${name}\n`);
    });

  calendars
    .command('delete')
    .description('delete a calendar no task names')
    .argument('<name>', 'calendar name')
    .action(async (name: string) => {
      const ctx = context();
      await (await ctx.client()).request('DELETE', path(name));
      ctx.print({ name, action: 'deleted' }, () => `deleted calendar ${name}\n`);
    });
}
