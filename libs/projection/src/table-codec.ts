import { getTableColumns, getTableName } from 'drizzle-orm';
import { type SQLiteTable } from 'drizzle-orm/sqlite-core';

type Value = string | number | bigint | Buffer | null;

/**
 * The SQL and the value mapping of one drizzle table, for raw better-sqlite3 statements on
 * a service's hot path. Filling drizzle's placeholders and its entity checks cost about
 * as much as running the statements; positional parameters in column order cost nothing.
 * Everything is derived from the drizzle schema, so the schema stays the one definition.
 */
export class TableCodec<T extends SQLiteTable> {
  readonly table: string;
  /** Row keys (camelCase, as drizzle types the rows), in column order. */
  readonly keys: readonly string[];
  readonly #columns: readonly string[];
  readonly #booleans: readonly string[];
  /** Keys of `mode: 'json'` text columns: stored as JSON text, read back as values. */
  readonly #jsons: readonly string[];

  constructor(table: T) {
    this.table = getTableName(table);
    const columns = Object.entries(getTableColumns(table));
    this.keys = columns.map(([key]) => key);
    this.#columns = columns.map(([, column]) => column.name);
    this.#booleans = columns
      .filter(([, column]) => column.columnType === 'SQLiteBoolean')
      .map(([key]) => key);
    this.#jsons = columns.filter(([, column]) => column.columnType === 'SQLiteTextJson').map(([key]) => key);
  }

  /** The quoted column name of a row key. */
  column(key: string): string {
    const column = this.#columns[this.keys.indexOf(key)];
    if (column === undefined) throw new TypeError(`${this.table} has no column for ${key}`);
    return `"${column}"`;
  }

  /** `"col" as "key", …`: selected rows come back keyed like drizzle's. */
  selectList(): string {
    return this.keys.map((key) => `${this.column(key)} as "${key}"`).join(', ');
  }

  /** `insert into t (all columns) values (?, …)` plus `suffix` (an ON CONFLICT clause). */
  insertSql(suffix = ''): string {
    const columns = this.keys.map((key) => this.column(key)).join(', ');
    return `insert into "${this.table}" (${columns}) values (${this.keys.map(() => '?').join(', ')}) ${suffix}`;
  }

  /** `update t set <set> = ? … where <where> = ? …`; parameters: `set` values, then `where` values. */
  updateSql(set: readonly string[], where: readonly string[]): string {
    const assignments = set.map((key) => `${this.column(key)} = ?`).join(', ');
    const conditions = where.map((key) => `${this.column(key)} = ?`).join(' and ');
    return `update "${this.table}" set ${assignments} where ${conditions}`;
  }

  whereSql(where: readonly string[]): string {
    return where.map((key) => `${this.column(key)} = ?`).join(' and ');
  }

  /** The row's values for `keys`, as SQLite binds them (booleans as 0/1, JSON columns as text, undefined as NULL). */
  values(row: object, keys: readonly string[] = this.keys): Value[] {
    const record = row as Record<string, unknown>;
    return keys.map((key) => {
      const value = record[key];
      if (value === undefined || value === null) return null;
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (this.#jsons.length > 0 && this.#jsons.includes(key)) return JSON.stringify(value);
      return value as Value;
    });
  }

  /** A selected row as drizzle would return it (0/1 back to booleans, JSON text back to values). */
  decode(row: unknown): T['$inferSelect'] {
    const record = row as Record<string, unknown>;
    for (const key of this.#booleans) record[key] = record[key] === 1;
    for (const key of this.#jsons) {
      const text = record[key];
      if (typeof text === 'string') record[key] = JSON.parse(text);
    }
    return row as T['$inferSelect'];
  }
}
