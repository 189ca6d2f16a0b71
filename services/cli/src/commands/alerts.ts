import { type Command } from 'commander';
import { type ApiClient } from '../api-client.js';
import { CliError, ExitCode } from '../cli-error.js';
import { type CommandContext } from '../context.js';
import { renderRecord, renderTable } from '../table.js';
import { parseDuration } from '../time-input.js';
import { positiveInt } from './options.js';

type Row = Record<string, unknown>;
type RuleDocument = Row & { readonly id: string };

const STATES = ['open', 'resolved', 'all'];

/** `nono alerts …`: open alerts, acknowledging and silencing them, and the rules that raise them. */
export function registerAlertCommands(program: Command, context: () => CommandContext): void {
  const alerts = program.command('alerts').description('alerts raised by alert rules (services/alerts)');

  alerts
    .command('ls')
    .description('alerts, newest first (open ones unless --state says otherwise)')
    .option('-s, --state <state>', `open, resolved or all`, 'open')
    .option('-t, --task <id>', 'only alerts about this task')
    .option('-r, --rule <id>', 'only alerts raised by this rule')
    .option('-n, --limit <n>', 'how many (1-1000)', positiveInt(1000), 50)
    .action(async (options: { state: string; task?: string; rule?: string; limit: number }) => {
      const ctx = context();
      if (!STATES.includes(options.state))
        throw new CliError(
          ExitCode.Usage,
          `--state "${options.state}" is not valid: expected ${STATES.join(', ')}`,
        );
      const { body } = await (
        await ctx.client()
      ).get<{ alerts: Row[] }>('/alerts', {
        query: { state: options.state, taskId: options.task, ruleId: options.rule, limit: options.limit },
      });
      ctx.print(body.alerts, () =>
        body.alerts.length === 0
          ? `no ${options.state === 'all' ? '' : `${options.state} `}alerts\n`
          : renderTable(
              [
                'ID',
                'STATE',
                'TASK',
                'RULE',
                'CONDITION',
                'OPENED',
                'SEEN',
                'ACK',
                'SILENCED UNTIL',
                'SUMMARY',
              ],
              body.alerts.map((a) => [
                a['id'],
                a['state'],
                a['taskId'],
                a['ruleId'],
                a['condition'],
                a['openedAt'],
                a['occurrences'],
                a['acknowledged'] === null ? '' : 'yes',
                a['silencedUntil'],
                a['summary'],
              ]),
            ),
      );
    });

  alerts
    .command('ack')
    .description('acknowledge an open alert: it stays open until its condition clears, without re-notifying')
    .argument('<id>', 'alert id')
    .requiredOption('--note <text>', 'what is being done about it')
    .action(async (id: string, options: { note: string }) => {
      const ctx = context();
      const { body } = await (
        await ctx.client()
      ).request<Row>('POST', `/alerts/${encodeURIComponent(id)}/ack`, { body: { note: options.note } });
      ctx.print(body, () => `acknowledged alert ${id}\n`);
    });

  alerts
    .command('silence')
    .description('silence an open alert for a window (maintenance): no notifications until it ends')
    .argument('<id>', 'alert id')
    .requiredOption('--for <duration>', 'how long: 30m, 2h, 1d')
    .option('--note <text>', 'why', '')
    .action(async (id: string, options: { for: string; note: string }) => {
      const ctx = context();
      const forMs = parseDuration(options.for, '--for');
      const { body } = await (
        await ctx.client()
      ).request<Row>('POST', `/alerts/${encodeURIComponent(id)}/silence`, {
        body: { forMs, note: options.note },
      });
      ctx.print(body, () => `silenced alert ${id} until ${String(body['silencedUntil'])}\n`);
    });

  alerts
    .command('get')
    .description('one alert, with its deliveries')
    .argument('<id>', 'alert id')
    .action(async (id: string) => {
      const ctx = context();
      const { body } = await (await ctx.client()).get<Row>(`/alerts/${encodeURIComponent(id)}`);
      ctx.print(body, () => renderRecord(body));
    });

  const rules = alerts.command('rules').description('alert rules');
  rules
    .command('ls')
    .description('every alert rule')
    .action(async () => {
      const ctx = context();
      const { body } = await (await ctx.client()).get<{ rules: Row[] }>('/alerts/rules');
      ctx.print(body.rules, () =>
        body.rules.length === 0
          ? 'no alert rules\n'
          : renderTable(
              ['ID', 'REV', 'ENABLED', 'SCOPE', 'CONDITION', 'CHANNELS', 'NAME'],
              body.rules.map((r) => [
                r['id'],
                r['revision'],
                r['enabled'],
                r['scope'],
                r['condition'],
                Array.isArray(r['channels']) ? r['channels'].map((c: Row) => c['kind']).join(',') : '',
                r['name'],
              ]),
            ),
      );
    });

  rules
    .command('apply')
    .description(
      'create each rule of the file, or replace it when its id exists (If-Match on the revision read)',
    )
    .requiredOption(
      '-f, --file <path>',
      'the rule file (one rule or an array, each with an "id"), - for stdin',
    )
    .action(async (options: { file: string }) => {
      const ctx = context();
      const { text, source } = await ctx.readInput(options.file);
      const documents = parseRuleDocuments(text, source);
      const client = await ctx.client();
      const results: Awaited<ReturnType<typeof applyRule>>[] = [];
      for (const document of documents) results.push(await applyRule(client, document));
      ctx.print(results, () =>
        results.map((r) => `${r.action} rule ${r.id} (revision ${String(r.revision)})\n`).join(''),
      );
    });

  rules
    .command('rm')
    .description('delete a rule (its open alerts resolve)')
    .argument('<id>', 'rule id')
    .action(async (id: string) => {
      const ctx = context();
      await (await ctx.client()).request('DELETE', `/alerts/rules/${encodeURIComponent(id)}`);
      ctx.print({ id, action: 'deleted' }, () => `deleted rule ${id}\n`);
    });
}

async function applyRule(
  client: ApiClient,
  document: RuleDocument,
): Promise<{ id: string; action: 'created' | 'replaced'; revision: unknown }> {
  const { id, ...spec } = document;
  const path = `/alerts/rules/${encodeURIComponent(id)}`;
  const existing = await client.find<Row>(path);
  const saved = await client.request<Row>(
    'PUT',
    path,
    existing === undefined ? { body: spec } : { body: spec, ifMatch: existing.etag },
  );
  return { id, action: existing === undefined ? 'created' : 'replaced', revision: saved.body['revision'] };
}

/** One rule or an array of rules, each an object with a string "id"; the managed fields are dropped. */
export function parseRuleDocuments(text: string, source: string): RuleDocument[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(ExitCode.Usage, `${source} is not JSON: ${(error as Error).message}`);
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  return items.map((item: unknown, index) => {
    const where = Array.isArray(parsed) ? `${source}[${index}]` : source;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new CliError(ExitCode.Usage, `${where}: a rule must be a JSON object`);
    const { id, createdAt: _c, updatedAt: _u, revision: _r, ...spec } = item as Row;
    if (typeof id !== 'string' || id === '')
      throw new CliError(ExitCode.Usage, `${where}: "id" must be a non-empty string`);
    return { ...spec, id };
  });
}
