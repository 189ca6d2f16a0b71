import { CliError, ExitCode } from './cli-error.js';

/** Fields nono manages: a file may carry them (`nono tasks get > file`), they are never sent back. */
const MANAGED_FIELDS = ['createdAt', 'updatedAt', 'revision'] as const;

export type TaskDocument = Readonly<Record<string, unknown>> & { readonly id: string };

/**
 * Reads one task or a JSON array of tasks. Only the shape the CLI relies on is checked here
 * (JSON, objects, an `id` string); the API validates the rest and names each bad field.
 */
export function parseTaskDocuments(text: string, source: string): TaskDocument[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(ExitCode.Usage, `${source} is not valid JSON: ${describeJsonError(error, text)}`);
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0)
    throw new CliError(ExitCode.Usage, `${source} holds an empty array: no task to send`);
  return items.map((item, index) => {
    const where = Array.isArray(parsed) ? `${source} [${index}]` : source;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new CliError(ExitCode.Usage, `${where} must be a JSON object (a task) or an array of them`);
    }
    const record = item as Record<string, unknown>;
    if (typeof record['id'] !== 'string' || record['id'] === '') {
      throw new CliError(
        ExitCode.Usage,
        `${where} has no "id": every task needs one (lowercase letters, digits, ".", "_" or "-")`,
      );
    }
    return withoutManagedFields(record) as TaskDocument;
  });
}

export function withoutManagedFields(task: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...task };
  for (const field of MANAGED_FIELDS) delete copy[field];
  return copy;
}

/** "Unexpected token } in JSON at position 42" → adds "(line 3, column 5)". */
function describeJsonError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /position (\d+)/.exec(message)?.[1];
  if (position === undefined || /line \d+/.test(message)) return message;
  const before = text.slice(0, Number(position));
  const line = before.split('\n').length;
  const column = Number(position) - before.lastIndexOf('\n');
  return `${message} (line ${line}, column ${column})`;
}
