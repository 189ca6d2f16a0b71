import { formatIssues, parseWorkerGroupSpec } from '@nono/domain';
import { isDeepStrictEqual } from 'node:util';
import { type Command } from 'commander';
import { CliError, ExitCode } from '../cli-error.js';
import { type CommandContext } from '../context.js';
import { renderRecord, renderTable } from '../table.js';
import { withoutManagedFields } from '../task-file.js';

type Group = Record<string, unknown> & { name: string };
interface GroupListItem {
  readonly etag: string;
  readonly liveMembers: number;
  readonly group: Group;
}
type MemberRow = Record<string, unknown>;
interface MembersAnswer {
  readonly group: string;
  readonly leaseMs: number;
  readonly members: readonly MemberRow[];
}

const path = (name: string): string => `/worker-groups/${encodeURIComponent(name)}`;

/** `nono groups …`: worker groups, their members and health; definitions applied from files. */
export function registerGroupCommands(program: Command, context: () => CommandContext): void {
  const groups = program
    .command('groups')
    .description('worker groups: named sets of worker endpoints a task can target');

  groups
    .command('ls')
    .alias('list')
    .description('every worker group, with its number of live members')
    .action(async () => {
      const ctx = context();
      const { body } = await (await ctx.client()).get<{ items: GroupListItem[] }>('/worker-groups');
      ctx.print(body.items, () =>
        body.items.length === 0
          ? 'no worker groups yet: define one with `nono groups apply -f group.json`\n'
          : renderTable(
              ['NAME', 'LIVE MEMBERS', 'STATIC', 'LEASE', 'DESCRIPTION'],
              body.items.map(({ group, liveMembers }) => [
                group.name,
                liveMembers,
                Array.isArray(group['members']) ? group['members'].length : 0,
                typeof group['leaseMs'] === 'number' ? `${group['leaseMs'] / 1000}s` : '-',
                group['description'],
              ]),
            ),
      );
    });

  groups
    .command('show')
    .alias('get')
    .description('a group: its definition, and each member with its lease and passive health')
    .argument('<name>', 'group name')
    .action(async (name: string) => {
      const ctx = context();
      const client = await ctx.client();
      const [definition, members] = await Promise.all([
        client.get<Group>(path(name)),
        client.get<MembersAnswer>(`${path(name)}/members`),
      ]);
      const group = definition.body;
      ctx.print({ etag: definition.etag, group, members: members.body.members }, () => {
        const health = (group['passiveHealth'] ?? {}) as Record<string, unknown>;
        const head = renderRecord({
          name: group.name,
          description: group['description'],
          revision: group['revision'],
          lease: `${Number(group['leaseMs']) / 1000}s`,
          'passive health': `out after ${String(health['consecutiveFailures'])} failures in a row, for ${Number(health['backoffMs']) / 1000}s`,
          'health probes': describeProbes(group['activeHealth']),
        });
        const rows = members.body.members;
        return `${head}\n${
          rows.length === 0
            ? 'no members: list static ones in the definition, or let workers register (PUT /worker-groups/<name>/members/<id>)\n'
            : renderTable(
                ['URL', 'SOURCE', 'STATE', 'HEALTH', 'MEMBER ID', 'LEASE EXPIRES', 'TAKEN OUT BY'],
                rows.map((member) => [
                  member['url'],
                  member['source'],
                  member['state'],
                  member['health'],
                  member['memberId'],
                  member['expiresAt'],
                  describeTakenOut(member['takenOutBy']),
                ]),
              )
        }`;
      });
    });

  groups
    .command('apply')
    .description(
      'create each group of the file, or replace it when it exists and differs (If-Match on the revision read); prints what it did',
    )
    .requiredOption(
      '-f, --file <path>',
      'the group file (one group or an array, each with a "name"), - for stdin',
    )
    .action(async (options: { file: string }) => {
      const ctx = context();
      const { text, source } = await ctx.readInput(options.file);
      const documents = parseGroupDocuments(text, source);
      const client = await ctx.client();
      const results: Array<{
        name: string;
        action: 'created' | 'replaced' | 'unchanged';
        revision: unknown;
      }> = [];
      for (const document of documents) {
        const existing = await client.find<Group>(path(document.name));
        if (existing === undefined) {
          const created = await client.request<Group>('POST', '/worker-groups', { body: document });
          results.push({ name: document.name, action: 'created', revision: created.body['revision'] });
          continue;
        }
        const { name: _name, ...spec } = document;
        const wanted = parseWorkerGroupSpec(spec);
        const current = parseWorkerGroupSpec(withoutManagedFields(withoutName(existing.body)));
        if (wanted.ok && current.ok && isDeepStrictEqual(wanted.value, current.value)) {
          results.push({ name: document.name, action: 'unchanged', revision: existing.body['revision'] });
          continue;
        }
        const saved = await client.request<Group>('PUT', path(document.name), {
          body: spec,
          ifMatch: existing.etag,
        });
        results.push({ name: document.name, action: 'replaced', revision: saved.body['revision'] });
      }
      ctx.print(results, () =>
        results.map((r) => `${r.action} group ${r.name} (revision ${String(r.revision)})\n`).join(''),
      );
    });

  groups
    .command('rm')
    .description("delete a group and its members' leases (tasks targeting it then find no member)")
    .argument('<name>', 'group name')
    .action(async (name: string) => {
      const ctx = context();
      await (await ctx.client()).request('DELETE', path(name));
      ctx.print({ name, action: 'deleted' }, () => `deleted group ${name}\n`);
    });
}

function withoutName(group: Group): Record<string, unknown> {
  const { name: _name, ...rest } = group;
  return rest;
}

function describeProbes(value: unknown): string {
  if (typeof value !== 'object' || value === null) return 'none';
  const probes = value as Record<string, unknown>;
  return `GET ${String(probes['path'])} every ${Number(probes['intervalMs']) / 1000}s (timeout ${Number(probes['timeoutMs']) / 1000}s): out after ${String(probes['unhealthyAfter'])} failed, back after ${String(probes['healthyAfter'])} passed`;
}

function describeTakenOut(value: unknown): string {
  if (!Array.isArray(value) || value.length === 0) return '-';
  return value
    .map((entry: unknown) => {
      const e = (entry ?? {}) as Record<string, unknown>;
      return e['cause'] === 'probe'
        ? `${String(e['schedulerId'])} by probes, until one passes (${String(e['lastError'])})`
        : `${String(e['schedulerId'])} until ${String(e['until'])} (${String(e['lastError'])})`;
    })
    .join('; ');
}

/**
 * One group or an array of groups, each an object with a string "name"; the managed fields are
 * dropped. The shape of the rest is checked here with the API's own rules, so a bad file fails
 * before anything is sent, naming the field.
 */
export function parseGroupDocuments(text: string, source: string): Group[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(ExitCode.Usage, `${source} is not JSON: ${(error as Error).message}`);
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0)
    throw new CliError(ExitCode.Usage, `${source} holds an empty array: no group to send`);
  const seen = new Set<string>();
  return items.map((item: unknown, index) => {
    const where = Array.isArray(parsed) ? `${source} [${index}]` : source;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new CliError(
        ExitCode.Usage,
        `${where} must be a JSON object (a worker group) or an array of them`,
      );
    const record = withoutManagedFields(item as Record<string, unknown>);
    const name = record['name'];
    if (typeof name !== 'string' || name === '')
      throw new CliError(ExitCode.Usage, `${where} has no "name": every worker group needs one`);
    if (seen.has(name)) throw new CliError(ExitCode.Usage, `worker group "${name}" is in the file twice`);
    seen.add(name);
    const { name: _name, ...spec } = record;
    const checked = parseWorkerGroupSpec(spec);
    if (!checked.ok)
      throw new CliError(
        ExitCode.Usage,
        `worker group "${name}" is not valid: ${formatIssues(checked.issues)}`,
      );
    return { ...record, name };
  });
}
