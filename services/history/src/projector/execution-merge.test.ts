import { type NonoEvent, createEvent, formatInstant, scheduledExecutionId } from '@nono/domain';
import { describe, expect, it } from 'vitest';
import { executionMeta } from '../testing/event-stream.js';
import { executionFactOf, isExecutionEvent } from './execution-fact.js';
import { type ExecutionRow, mergeExecution } from './execution-merge.js';

const NOMINAL = Date.parse('2026-06-01T03:00:00Z');
const ref = {
  taskId: 'nightly',
  executionId: scheduledExecutionId('nightly', NOMINAL),
  nominalTime: formatInstant(NOMINAL),
  schedulerId: 's-a',
  fencingToken: 7,
  reason: 'scheduled' as const,
};

const fired = (attempt: number, at: number): NonoEvent =>
  createEvent(
    'nono.execution.fired.v1',
    { ...ref, attempt, firedAt: formatInstant(at), lateMs: at - NOMINAL, targetUrl: 'http://w' },
    executionMeta('nono.execution.fired.v1', ref, attempt, at),
  );
const succeeded = (attempt: number, at: number): NonoEvent =>
  createEvent(
    'nono.execution.succeeded.v1',
    { ...ref, attempt, finishedAt: formatInstant(at), durationMs: 40, httpStatus: 200 },
    executionMeta('nono.execution.succeeded.v1', ref, attempt, at),
  );
const failed = (attempt: number, at: number, willRetry: boolean): NonoEvent =>
  createEvent(
    'nono.execution.failed.v1',
    {
      ...ref,
      attempt,
      finishedAt: formatInstant(at),
      durationMs: 30,
      httpStatus: 503,
      error: 'HTTP 503',
      willRetry,
    },
    executionMeta('nono.execution.failed.v1', ref, attempt, at),
  );
const retrying = (attempt: number, at: number): NonoEvent =>
  createEvent(
    'nono.execution.retrying.v1',
    { ...ref, attempt, nextAttemptAt: formatInstant(at + 1000), previousError: 'HTTP 503' },
    executionMeta('nono.execution.retrying.v1', ref, attempt, at),
  );
const lost = (attempt: number, at: number, rerun: boolean): NonoEvent =>
  createEvent(
    'nono.execution.lost.v1',
    { ...ref, attempt, detectedAt: formatInstant(at), lostSchedulerId: 's-b', rerun },
    executionMeta('nono.execution.lost.v1', ref, attempt, at),
  );

const cancelled = (attempt: number, at: number): NonoEvent =>
  createEvent(
    'nono.execution.cancelled.v1',
    {
      ...ref,
      attempt,
      finishedAt: formatInstant(at),
      durationMs: 900,
      actor: { id: 'oncall', kind: 'token' },
      note: 'stuck',
    },
    executionMeta('nono.execution.cancelled.v1', ref, attempt, at),
  );

/** A backfill's call of the same instant: the same execution id, the next attempt, its own fence. */
const backfillRef = { ...ref, reason: 'backfill' as const, schedulerId: 's-c', fencingToken: 90 };
const backfillFired = (attempt: number, at: number): NonoEvent =>
  createEvent(
    'nono.execution.fired.v1',
    { ...backfillRef, attempt, firedAt: formatInstant(at), lateMs: at - NOMINAL, targetUrl: 'http://w' },
    executionMeta('nono.execution.fired.v1', backfillRef, attempt, at),
  );
const backfillSucceeded = (attempt: number, at: number): NonoEvent =>
  createEvent(
    'nono.execution.succeeded.v1',
    { ...backfillRef, attempt, finishedAt: formatInstant(at), durationMs: 40, httpStatus: 200 },
    executionMeta('nono.execution.succeeded.v1', backfillRef, attempt, at),
  );
const backfillLost = (attempt: number, at: number): NonoEvent =>
  createEvent(
    'nono.execution.lost.v1',
    { ...backfillRef, attempt, detectedAt: formatInstant(at), lostSchedulerId: 's-c', rerun: false },
    executionMeta('nono.execution.lost.v1', backfillRef, attempt, at),
  );

function fold(events: readonly NonoEvent[]): ExecutionRow | undefined {
  let row: ExecutionRow | undefined;
  for (const event of events) if (isExecutionEvent(event)) row = mergeExecution(row, executionFactOf(event));
  return row;
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('execution status precedence', () => {
  it.each<[string, NonoEvent[], Record<string, unknown>]>([
    [
      'a plain success',
      [fired(1, NOMINAL + 4), succeeded(1, NOMINAL + 44)],
      { status: 'succeeded', attempts: 1, lateMs: 4, durationMs: 40 },
    ],
    [
      'a retried success',
      [
        fired(1, NOMINAL + 4),
        failed(1, NOMINAL + 34, true),
        retrying(2, NOMINAL + 34),
        fired(2, NOMINAL + 1034),
        succeeded(2, NOMINAL + 1074),
      ],
      { status: 'succeeded', attempts: 2, lateMs: 4, httpStatus: 200, error: null },
    ],
    [
      'a retry still pending',
      [fired(1, NOMINAL + 4), failed(1, NOMINAL + 34, true), retrying(2, NOMINAL + 34)],
      { status: 'retrying', attempts: 2, error: 'HTTP 503' },
    ],
    [
      'a final failure',
      [fired(1, NOMINAL + 4), failed(1, NOMINAL + 34, false)],
      { status: 'failed', httpStatus: 503, attempts: 1 },
    ],
    [
      'a lost call that is rerun',
      [fired(1, NOMINAL + 4), lost(1, NOMINAL + 30_000, true), fired(2, NOMINAL + 31_000)],
      { status: 'running', attempts: 2 },
    ],
    [
      'an operator cancel of a running call',
      [fired(1, NOMINAL + 4), cancelled(1, NOMINAL + 904)],
      { status: 'cancelled', error: 'cancelled by oncall: stuck', durationMs: 900 },
    ],
    [
      'a lost call that was answered after all',
      [fired(1, NOMINAL + 4), lost(1, NOMINAL + 30_000, true), succeeded(1, NOMINAL + 40_000)],
      { status: 'succeeded' },
    ],
    [
      'a failure a backfill fired again (attempt 2) with success',
      [
        fired(1, NOMINAL + 4),
        failed(1, NOMINAL + 34, false),
        backfillFired(2, NOMINAL + 86_400_000),
        backfillSucceeded(2, NOMINAL + 86_400_040),
      ],
      { status: 'succeeded', attempts: 2, reason: 'backfill', schedulerId: 's-c', lateMs: 4, error: null },
    ],
    [
      'a backfill call lost on a dead scheduler: the latest attempt is lost (a new backfill fires it)',
      [
        fired(1, NOMINAL + 4),
        failed(1, NOMINAL + 34, false),
        backfillFired(2, NOMINAL + 86_400_000),
        backfillLost(2, NOMINAL + 86_460_000),
      ],
      { status: 'lost', attempts: 2, reason: 'backfill' },
    ],
    [
      'a lost backfill call whose success got out before its scheduler died',
      [
        backfillFired(2, NOMINAL + 86_400_000),
        backfillSucceeded(2, NOMINAL + 86_400_040),
        backfillLost(2, NOMINAL + 86_460_000),
      ],
      { status: 'succeeded', reason: 'backfill' },
    ],
  ])('converges on %s whatever the arrival order', (_name, events, expected) => {
    const rows = permutations(events).map(fold);
    for (const row of rows) expect(row).toEqual(rows[0]);
    expect(rows[0]).toMatchObject(expected);
  });

  it('does not let a late fired reopen a finished execution', () => {
    const row = fold([succeeded(1, NOMINAL + 44), fired(1, NOMINAL + 4)]);
    expect(row).toMatchObject({ status: 'succeeded', firedAt: NOMINAL + 4, finishedAt: NOMINAL + 44 });
  });

  it('is idempotent: folding the same fact twice changes nothing', () => {
    const once = fold([fired(1, NOMINAL + 4), succeeded(1, NOMINAL + 44)]);
    expect(
      fold([
        fired(1, NOMINAL + 4),
        succeeded(1, NOMINAL + 44),
        succeeded(1, NOMINAL + 44),
        fired(1, NOMINAL + 4),
      ]),
    ).toEqual(once);
  });
});
