import { type Static, Type } from '@sinclair/typebox';
import { type Result, fail, ok } from '@nono/domain';
import { defineDocument } from './document.js';

/** `/open-executions/<schedulerId>`: which of a scheduler's claims are still open. */
export const OpenExecutionsRecordSchema = Type.Object({
  incarnation: Type.String(),
  seq: Type.Number({
    description: 'every claim numbered up to here is accounted for: open if listed, ended if not',
  }),
  open: Type.Array(Type.Tuple([Type.Number(), Type.Number()]), {
    description: "the open claims' numbers as sorted, disjoint, inclusive ranges [from, to]",
  }),
});
export type OpenExecutionsRecord = Static<typeof OpenExecutionsRecordSchema>;

const shape = defineDocument('open-executions record', OpenExecutionsRecordSchema);

export const openExecutionsRecordDocument = {
  ...shape,
  /** Ranges that are not sorted and disjoint cannot be searched: such a record is refused (it proves nothing). */
  parse(data: Buffer): Result<OpenExecutionsRecord> {
    const parsed = shape.parse(data);
    if (!parsed.ok) return parsed;
    let previousTo = -Infinity;
    for (const [index, [from, to]] of parsed.value.open.entries()) {
      if (from > to || from <= previousTo)
        return fail([{ field: `open[${index}]`, message: 'ranges must be sorted, disjoint and from <= to' }]);
      previousTo = to;
    }
    return ok(parsed.value);
  },
};
