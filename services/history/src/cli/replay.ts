import { type FieldIssue, parseInstant } from '@nono/domain';
import { createKafka, decodeEvent, topicNames } from '@nono/events';
import { type Logger } from '@nono/runtime';
import { type HistoryConfig } from '../config.js';
import { drainTopics } from './topic-drain.js';

export interface ReplayWindow {
  readonly from: number;
  readonly to: number;
}

/** `--from <RFC 3339> --to <RFC 3339>`: the replay window, or the issues with the arguments. */
export function parseReplayArgs(
  args: readonly string[],
): { ok: true; value: ReplayWindow } | { ok: false; issues: FieldIssue[] } {
  const value = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i === -1 ? undefined : args[i + 1];
  };
  const issues: FieldIssue[] = [];
  const from = parseInstant(value('from') ?? '');
  const to = parseInstant(value('to') ?? '');
  if (from === undefined) issues.push({ field: '--from', message: 'required: an RFC 3339 instant' });
  if (to === undefined) issues.push({ field: '--to', message: 'required: an RFC 3339 instant' });
  if (from !== undefined && to !== undefined && to <= from)
    issues.push({ field: '--to', message: 'must be after --from' });
  return from === undefined || to === undefined || issues.length > 0
    ? { ok: false, issues }
    : { ok: true, value: { from, to } };
}

/**
 * `history replay`: prints, one JSON line each, the valid events whose CloudEvents `time`
 * is in [from, to), read straight from the topics (not the database). Order is per
 * partition, as Kafka keeps it.
 */
export async function replayEvents(
  config: HistoryConfig,
  window: ReplayWindow,
  deps: { log: Logger; write: (line: string) => void },
): Promise<{ printed: number }> {
  const topics = topicNames(config.common.topicPrefix);
  const kafka = createKafka({
    brokers: config.common.kafkaBrokers,
    security: config.common.kafkaSecurity,
    clientId: `nono-history-replay-${process.pid}`,
  });
  let printed = 0;
  await drainTopics({
    kafka,
    topics: [topics.tasks, topics.executions, topics.cluster],
    startAt: () => undefined,
    onBatch: (batch) => {
      for (const record of batch.records) {
        const decoded = decodeEvent(record.value);
        if (!decoded.ok) continue;
        const at = parseInstant(decoded.value.time);
        if (at === undefined || at < window.from || at >= window.to) continue;
        deps.write(`${JSON.stringify(decoded.value)}\n`);
        printed += 1;
      }
    },
    log: deps.log,
  });
  return { printed };
}
