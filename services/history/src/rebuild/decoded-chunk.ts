import {
  type CancelCall,
  type CapturedOutput,
  type FieldIssue,
  type NonoEvent,
  type TriggerParameters,
} from '@nono/domain';
import { decodeValue } from '../projector/event-decoder.js';
import { type ExecutionFact } from '../projector/execution-fact.js';
import { type SourceRecord } from '../projector/source-record.js';
import { type ExecutionStatus } from '../store/schema.js';

/**
 * A chunk of records decoded on the rebuild's fetch thread, as it crosses to the thread
 * that owns SQLite. Structured clone of the decoded events cost more to receive (4.1 µs
 * per event, measured) than decoding them again (3.2 µs); one JSON array of flat tuples
 * costs 1.0 µs. So: `json` holds per record [offset, key, value length, kind, payload]
 * (an execution fact as a tuple of its fields, another event as itself, or the issues of
 * an invalid record), and `raw` the values end to end (a transferred buffer: no copy), so
 * a dead letter keeps the record's exact bytes.
 */
export interface DecodedChunk {
  readonly json: string;
  readonly raw: ArrayBuffer;
}

const FACT = 0;
const EVENT = 1;
const INVALID = 2;

type Tuple = [number, string | null, number, number, unknown];
type FactTuple = [
  string,
  number,
  string,
  string,
  number,
  number,
  string,
  number,
  string,
  ExecutionStatus,
  boolean,
  number,
  ExecutionStatus | null,
  number | null,
  number | null,
  number | null,
  number | null,
  number | null,
  string | null,
  string | null,
  number | null,
  number | null,
  string | null,
  CapturedOutput | null,
  TriggerParameters | null,
  CancelCall | null,
  { group: string; url: string } | null,
];

// prettier-ignore
function factTuple(f: ExecutionFact): FactTuple {
  return [
    f.eventId, f.at, f.taskId, f.executionId, f.nominalTime, f.attempt, f.schedulerId, f.fencingToken, f.reason,
    f.status, f.terminal, f.phase, f.attemptStatus ?? null, f.firedAt ?? null, f.lateMs ?? null,
    f.finishedAt ?? null, f.durationMs ?? null, f.httpStatus ?? null, f.error ?? null,
    f.instantId ?? null, f.shardIndex ?? null, f.shardCount ?? null, f.memberUrl ?? null, f.output ?? null,
    f.parameters ?? null, f.cancelCall ?? null, f.member ?? null,
  ];
}

/** The optional fields are undefined in a fact and null in JSON; no required field is ever null. */
function factOf(t: FactTuple): ExecutionFact {
  return {
    eventId: t[0],
    at: t[1],
    taskId: t[2],
    executionId: t[3],
    nominalTime: t[4],
    attempt: t[5],
    schedulerId: t[6],
    fencingToken: t[7],
    reason: t[8],
    status: t[9],
    terminal: t[10],
    phase: t[11],
    attemptStatus: t[12] ?? undefined,
    firedAt: t[13] ?? undefined,
    lateMs: t[14] ?? undefined,
    finishedAt: t[15] ?? undefined,
    durationMs: t[16] ?? undefined,
    httpStatus: t[17] ?? undefined,
    error: t[18] ?? undefined,
    instantId: t[19] ?? undefined,
    shardIndex: t[20] ?? undefined,
    shardCount: t[21] ?? undefined,
    memberUrl: t[22] ?? undefined,
    output: t[23] ?? undefined,
    parameters: t[24] ?? undefined,
    cancelCall: t[25] ?? undefined,
    member: t[26] ?? undefined,
  };
}

/** Decodes records (decodeValue, as BatchProjector would) into a chunk for the other thread. */
export function encodeChunk(
  records: readonly { offset: number; key: string | null; value: Buffer | null }[],
): DecodedChunk {
  const tuples: Tuple[] = [];
  const values: Buffer[] = [];
  for (const { offset, key, value } of records) {
    if (value !== null) values.push(value);
    const decoded = decodeValue(value);
    const length = value === null ? -1 : value.length;
    if (decoded.kind === 'fact') tuples.push([offset, key, length, FACT, factTuple(decoded.fact)]);
    else if (decoded.kind === 'event') tuples.push([offset, key, length, EVENT, decoded.event]);
    else tuples.push([offset, key, length, INVALID, decoded.issues]);
  }
  const raw = Buffer.concat(values);
  // A fresh buffer of exactly these bytes (Buffer.concat may hand out a slice of a shared pool).
  const owned =
    raw.buffer.byteLength === raw.length
      ? raw.buffer
      : raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length);
  return { json: JSON.stringify(tuples), raw: owned };
}

/** The records of a chunk, each with its value and what decoding it gave. */
export function decodeChunk(chunk: DecodedChunk): SourceRecord[] {
  const tuples = JSON.parse(chunk.json) as Tuple[];
  const raw = Buffer.from(chunk.raw);
  let at = 0;
  return tuples.map(([offset, key, length, kind, payload]) => {
    const value = length < 0 ? null : raw.subarray(at, (at += length));
    if (kind === FACT)
      return { offset, key, value, decoded: { kind: 'fact', fact: factOf(payload as FactTuple) } };
    if (kind === EVENT)
      return { offset, key, value, decoded: { kind: 'event', event: payload as NonoEvent } };
    return { offset, key, value, decoded: { kind: 'invalid', issues: payload as FieldIssue[] } };
  });
}
