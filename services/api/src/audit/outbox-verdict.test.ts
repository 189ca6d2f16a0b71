import {
  type NonoEvent,
  type SchedulerTask,
  type WorkerGroup,
  createTask,
  createWorkerGroup,
  groupDefinedEvent,
  groupDeletedEvent,
  groupUpdatedEvent,
  memberJoinedEvent,
  memberLeftEvent,
  parseWorkerGroupSpec,
  reviseWorkerGroup,
  workerGroupSpecOf,
  parseTaskSpec,
  reviseTask,
  taskSpecOf,
} from '@nono/domain';
import { describe, expect, it } from 'vitest';
import { changedEvent, definedEvent, deletedEvent, triggeredEvent } from '@nono/domain';
import { type OutboxEntry } from '@nono/coordination';
import { type Evidence, judgeEntry } from './outbox-verdict.js';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const GRACE = 30_000;
const ctx = { actor: { id: 'admin:1', kind: 'token' as const }, source: 'nono://test', now: T0 };

const spec = parseTaskSpec(
  { name: 'n', schedule: { kind: 'cron', expression: '* * * * *' }, target: { url: 'http://127.0.0.1/' } },
  T0,
);
if (!spec.ok) throw new Error('fixture');
const v1 = createTask('t', spec.value, T0);
const v2 = reviseTask(v1, { ...taskSpecOf(v1), name: 'v2' }, T0 + 1);
const v2other = reviseTask(v1, { ...taskSpecOf(v1), name: 'someone else' }, T0 + 2);
const v3 = reviseTask(v2, { ...taskSpecOf(v2), name: 'v3' }, T0 + 3);
const recreated: SchedulerTask = {
  ...v1,
  createdAt: '2026-06-02T00:00:00.000Z',
  updatedAt: '2026-06-02T00:00:00.000Z',
};

const entry = (event: NonoEvent, committed = false): OutboxEntry => ({ event, stagedAt: T0, committed });
const evidence = (
  current: SchedulerTask | undefined,
  later: NonoEvent[] = [],
  triggerExists = false,
): Evidence => ({ current, later, triggerExists });
const OLD = T0 + GRACE + 1;

const update = changedEvent('nono.task.updated.v1', v1, v2, ctx);
const deleteV2 = deletedEvent(v2, ctx);

describe('judgeEntry: the fate of an outbox entry after each crash window', () => {
  it.each<[string, OutboxEntry, number, Evidence, string]>([
    ['committed: publish at once', entry(update, true), T0, evidence(undefined), 'publish'],
    ['young and uncommitted: the writer may be mid-write', entry(update), T0 + 10, evidence(v2), 'wait'],
    ['create landed', entry(definedEvent(v1, ctx)), OLD, evidence(v1), 'publish'],
    ['create never happened', entry(definedEvent(v1, ctx)), OLD, evidence(undefined), 'drop'],
    ['update landed and is current', entry(update), OLD, evidence(v2), 'publish'],
    ['update never happened (task still at v1)', entry(update), OLD, evidence(v1), 'drop'],
    [
      'update landed, then moved on (seen in the successor entry)',
      entry(update),
      OLD,
      evidence(v3, [changedEvent('nono.task.updated.v1', v2, v3, ctx)]),
      'publish',
    ],
    ['another writer won the revision', entry(update), OLD, evidence(v2other), 'drop'],
    [
      'another writer won the revision, then moved on',
      entry(update),
      OLD,
      evidence(v3, [changedEvent('nono.task.updated.v1', v2other, v3, ctx)]),
      'drop',
    ],
    [
      'update landed, then the task was deleted',
      entry(update),
      OLD,
      evidence(undefined, [deleteV2]),
      'publish',
    ],
    ['delete landed', entry(deleteV2), OLD, evidence(undefined), 'publish'],
    ['delete never happened', entry(deleteV2), OLD, evidence(v2), 'drop'],
    ['delete landed, task re-created since', entry(deleteV2), OLD, evidence(recreated), 'publish'],
    [
      'task updated from the same revision instead, then deleted',
      entry(deleteV2),
      OLD,
      evidence(undefined, [changedEvent('nono.task.updated.v1', v2, v3, ctx)]),
      'drop',
    ],
    [
      'trigger request still pending',
      entry(triggeredEvent('t', 'r1', ctx)),
      OLD,
      evidence(v1, [], true),
      'publish',
    ],
    [
      'trigger of a task that is gone',
      entry(triggeredEvent('t', 'r1', ctx)),
      OLD,
      evidence(undefined, [], false),
      'drop',
    ],
  ])('%s', (_case, outboxEntry, now, facts, verdict) => {
    expect(judgeEntry(outboxEntry, now, GRACE, () => facts)).toBe(verdict);
  });

  it('does not read evidence for committed or young entries', () => {
    const noEvidence = () => {
      throw new Error('evidence read');
    };
    expect(judgeEntry(entry(update, true), OLD, GRACE, noEvidence)).toBe('publish');
    expect(judgeEntry(entry(update), T0, GRACE, noEvidence)).toBe('wait');
  });
});

describe('audit event ids', () => {
  it('are derived from the change, so a republished entry is the same event', () => {
    expect(changedEvent('nono.task.updated.v1', v1, v2, ctx).id).toBe(
      changedEvent('nono.task.updated.v1', v1, v2, { ...ctx, now: T0 + 99 }).id,
    );
    expect(definedEvent(v1, ctx).id).not.toBe(definedEvent(recreated, ctx).id);
    expect(triggeredEvent('t', 'r1', ctx).id).toBe(triggeredEvent('t', 'r1', ctx).id);
    expect(triggeredEvent('t', 'r1', ctx).id).not.toBe(triggeredEvent('t', 'r2', ctx).id);
  });
});

describe('judgeEntry: worker group changes and members, by the same reasoning', () => {
  const groupSpec = parseWorkerGroupSpec({ members: [{ url: 'http://127.0.0.1:7761' }] });
  if (!groupSpec.ok) throw new Error('fixture');
  const g1 = createWorkerGroup('g', groupSpec.value, T0);
  const g2 = reviseWorkerGroup(g1, { ...workerGroupSpecOf(g1), leaseMs: 5_000 }, T0 + 1);
  const g3 = reviseWorkerGroup(g2, { ...workerGroupSpecOf(g2), leaseMs: 6_000 }, T0 + 2);
  const lease = {
    memberId: 'm1',
    url: 'http://127.0.0.1:7762',
    leaseMs: 15_000,
    registeredAt: '2026-06-01T00:00:00.000Z',
    renewedAt: '2026-06-01T00:00:00.000Z',
    expiresAt: '2026-06-01T00:00:15.000Z',
    registeredBy: 'operator:1',
  };
  const groupEvidence = (
    currentGroup: WorkerGroup | undefined,
    later: NonoEvent[] = [],
    leaseNow = lease,
  ) => ({
    current: undefined,
    triggerExists: false,
    currentGroup,
    lease: leaseNow,
    later,
  });
  const updated = groupUpdatedEvent(g1, g2, ctx);
  it.each<[string, OutboxEntry, Evidence, string]>([
    ['create landed', entry(groupDefinedEvent(g1, ctx)), groupEvidence(g1), 'publish'],
    ['create never happened', entry(groupDefinedEvent(g1, ctx)), groupEvidence(undefined), 'drop'],
    ['update landed', entry(updated), groupEvidence(g2), 'publish'],
    ['update never happened', entry(updated), groupEvidence(g1), 'drop'],
    [
      'update landed, then moved on',
      entry(updated),
      groupEvidence(g3, [groupUpdatedEvent(g2, g3, ctx)]),
      'publish',
    ],
    ['delete landed', entry(groupDeletedEvent(g2, ctx)), groupEvidence(undefined), 'publish'],
    ['delete never happened', entry(groupDeletedEvent(g2, ctx)), groupEvidence(g2), 'drop'],
    ['member joined', entry(memberJoinedEvent('g', lease, ctx)), groupEvidence(g1), 'publish'],
    [
      'member never joined (no lease)',
      entry(memberJoinedEvent('g', lease, ctx)),
      { ...groupEvidence(g1), lease: undefined },
      'drop',
    ],
    [
      'member left',
      entry(memberLeftEvent('g', lease, ctx)),
      { ...groupEvidence(g1), lease: undefined },
      'publish',
    ],
    [
      'member never left (its lease is there)',
      entry(memberLeftEvent('g', lease, ctx)),
      groupEvidence(g1),
      'drop',
    ],
  ])('%s', (_name, item, facts, verdict) => {
    expect(judgeEntry(item, OLD, GRACE, () => facts)).toBe(verdict);
  });
});
