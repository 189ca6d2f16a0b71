import { decodeEvent } from '@nono/events';
import { executionFactOf, isExecutionEvent } from './execution-fact.js';
import { type DecodedValue } from './source-record.js';

/**
 * What the projector does with a record's value: an execution event becomes its fact
 * (unless `keepEvents`: the projector's injectable EventProjection takes events), another
 * valid event stays an event, an invalid one is its issues.
 */
export function decodeValue(value: Buffer | null, keepEvents = false): DecodedValue {
  const decoded = decodeEvent(value);
  if (!decoded.ok) return { kind: 'invalid', issues: decoded.issues };
  const event = decoded.value;
  return !keepEvents && isExecutionEvent(event)
    ? { kind: 'fact', fact: executionFactOf(event) }
    : { kind: 'event', event };
}
