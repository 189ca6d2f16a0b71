import { type Static, type TSchema } from '@sinclair/typebox';
import { type Result, compileValidator, fail, formatIssues } from '@nono/domain';

/**
 * One kind of ZooKeeper document: its schema, and the only way it is written (`encode`) and
 * read (`parse`). Every reader and writer of a znode goes through its document, so a field
 * cannot be kept by one side and dropped by the other.
 */
export interface ZnodeDocument<S extends TSchema> {
  readonly name: string;
  readonly schema: S;
  encode(value: Static<S>): Buffer;
  /** Unknown fields are kept (a newer writer's fields survive an older reader's rewrite). */
  parse(data: Buffer): Result<Static<S>>;
}

export function defineDocument<S extends TSchema>(name: string, schema: S): ZnodeDocument<S> {
  const validator = compileValidator(schema);
  return {
    name,
    schema,
    encode: (value) => Buffer.from(JSON.stringify(value)),
    parse(data) {
      let json: unknown;
      try {
        json = JSON.parse(data.toString('utf8'));
      } catch (error) {
        return fail([{ field: '', message: `${name} is not JSON: ${(error as Error).message}` }]);
      }
      return validator.parse(json);
    },
  };
}

/** A parse failure as one line for logs. */
export function describeParseFailure(name: string, result: Result<unknown>): string {
  return result.ok ? `${name}: ok` : `${name}: ${formatIssues(result.issues)}`;
}
