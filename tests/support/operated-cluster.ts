import { type NonoEvent } from '@nono/domain';
import { type ApiProcess, startApiProcess } from './api.js';
import {
  HISTORY_READ_TOKEN,
  type TestCluster,
  collectEvents,
  startHistoryProcess,
  startTestCluster,
} from './cluster.js';
import { type Isolation } from './isolation.js';

/**
 * What an operator's view of runs needs on real processes: schedulers and a test worker, a
 * history service projecting the topics, the API in front of both, and the executions topic
 * read from the beginning. `stop` ends them all.
 */
export interface OperatedCluster {
  readonly cluster: TestCluster;
  readonly history: Awaited<ReturnType<typeof startHistoryProcess>>;
  readonly api: ApiProcess;
  readonly facts: NonoEvent[];
  /** A /api/v1 call with the admin token; the answer's status and parsed JSON (or text). */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
}

export async function startOperatedCluster(
  iso: Isolation,
  options: { schedulers: readonly string[]; admin: string; schedulerEnv?: Record<string, string> },
): Promise<OperatedCluster> {
  const cluster = await startTestCluster(iso, {
    schedulers: options.schedulers,
    ...(options.schedulerEnv === undefined ? {} : { env: options.schedulerEnv }),
  });
  const history = await startHistoryProcess(iso);
  const api = await startApiProcess(
    iso,
    { admin: options.admin },
    {
      NONO_HISTORY_URL: history.url,
      NONO_HISTORY_READ_TOKEN: HISTORY_READ_TOKEN,
      NONO_API_RATE_LIMIT_PER_MINUTE: '1000000',
    },
  );
  const collected = await collectEvents(iso, iso.topics.executions);
  return {
    cluster,
    history,
    api,
    facts: collected.events,
    async call(method, path, body) {
      const response = await fetch(`${api.url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${options.admin}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: the text itself
      }
      return { status: response.status, body: parsed };
    },
    async stop() {
      await collected.stop();
      await api.kill();
      await history.kill();
      await cluster.stop();
    },
  };
}
