import { renameSync, rmSync } from 'node:fs';
import { type Clock } from '@nono/domain';
import { createKafka, topicNames } from '@nono/events';
import { type Logger } from '@nono/runtime';
import { type HistoryConfig } from '../config.js';
import { projectedTopics } from '../projector/projected-topics.js';
import { buildFreshDatabase } from '../rebuild/build-fresh-database.js';
import { type RebuildStatus } from '../rebuild/live-rebuilder.js';
import { type RebuildProgress, formatProgress } from '../rebuild/rebuild-progress.js';

/**
 * `history rebuild` with the service STOPPED: projects the topics from their beginning
 * into a new file, then renames it over the configured one (atomic: a reader sees the
 * old database or the new one). On its next start the service resumes from the offsets
 * the rebuild stored, so records published meanwhile are not lost.
 */
export async function rebuildDatabase(
  config: HistoryConfig,
  deps: { clock: Clock; log: Logger; progress: (line: string) => void },
): Promise<{ records: number; file: string }> {
  const topics = topicNames(config.common.topicPrefix);
  const kafka = createKafka({
    brokers: config.common.kafkaBrokers,
    security: config.common.kafkaSecurity,
    clientId: `nono-history-rebuild-${process.pid}`,
  });
  const built = await buildFreshDatabase({
    kafka,
    brokers: config.common.kafkaBrokers,
    kafkaSecurity: config.common.kafkaSecurity,
    topics: projectedTopics(topics),
    target: config.dbFile,
    clock: deps.clock,
    log: deps.log,
    catchUpLag: 1_000,
    onProgress: (progress) => deps.progress(formatProgress(progress)),
  });
  // A stale WAL beside the new file would be replayed into it: the old one's go first.
  for (const suffix of ['-wal', '-shm']) rmSync(`${config.dbFile}${suffix}`, { force: true });
  renameSync(built.file, config.dbFile);
  return { records: built.records, file: config.dbFile };
}

export type ServiceRebuild =
  { readonly kind: 'not-running' } | { readonly kind: 'finished'; readonly status: RebuildStatus };

/**
 * `history rebuild` with the service RUNNING: asks it (`POST /admin/rebuild`) to rebuild
 * and swap live, then follows `GET /admin/rebuild` until it is done or failed. A rebuild
 * already running is followed rather than refused. `not-running` when nothing answers at
 * `baseUrl`: the caller then rebuilds offline.
 */
export async function requestServiceRebuild(
  baseUrl: string,
  deps: { progress: (line: string) => void; pollMs?: number; token?: string | undefined },
): Promise<ServiceRebuild> {
  const headers: Record<string, string> =
    deps.token === undefined ? {} : { authorization: `Bearer ${deps.token}` };
  let started: Response;
  try {
    started = await fetch(`${baseUrl}/admin/rebuild`, { method: 'POST', headers });
  } catch (error) {
    if (isConnectionRefused(error)) return { kind: 'not-running' };
    throw error;
  }
  if (started.status === 401)
    throw new Error(
      `POST ${baseUrl}/admin/rebuild answered 401: set NONO_HISTORY_ADMIN_TOKEN to a token whose SHA-256 the service has in NONO_HISTORY_ADMIN_TOKENS`,
    );
  if (started.status !== 202 && started.status !== 409)
    throw new Error(`POST ${baseUrl}/admin/rebuild answered ${started.status}: ${await started.text()}`);
  await started.body?.cancel();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, deps.pollMs ?? 1_000));
    const response = await fetch(`${baseUrl}/admin/rebuild`, { headers });
    if (!response.ok) throw new Error(`GET ${baseUrl}/admin/rebuild answered ${response.status}`);
    const status = (await response.json()) as RebuildStatus;
    deps.progress(formatProgress(status satisfies RebuildProgress));
    if (status.phase === 'done' || status.phase === 'failed') return { kind: 'finished', status };
  }
}

function isConnectionRefused(error: unknown): boolean {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return cause?.code === 'ECONNREFUSED';
}
