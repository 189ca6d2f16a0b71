import Database from 'better-sqlite3';

/**
 * SQLite result codes that say nothing about the record being projected: the database or
 * the disk is unwell. The batch fails and kafkajs retries it later; dead-lettering the
 * record would lose a good event because of a full disk.
 */
const INFRASTRUCTURE_CODES =
  /^SQLITE_(BUSY|LOCKED|IOERR|FULL|NOMEM|READONLY|CORRUPT|CANTOPEN|INTERRUPT|PROTOCOL|NOTADB)/;

export function isInfrastructureFailure(error: unknown): boolean {
  return error instanceof Database.SqliteError && INFRASTRUCTURE_CODES.test(error.code);
}

/** Thrown out of the fast path to roll the batch back and redo it record by record. */
export class RecordProjectionError extends Error {
  /** Undefined when writing the merged rows failed (the isolated redo finds the record). */
  readonly offset: number | undefined;

  constructor(offset: number | undefined, cause: unknown) {
    super(
      offset === undefined
        ? 'writing the merged rows of a batch failed'
        : `projecting the record at offset ${offset} failed`,
      { cause },
    );
    this.name = 'RecordProjectionError';
    this.offset = offset;
  }
}

export function describeFailure(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
