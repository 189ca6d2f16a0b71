import { type createKafka } from '@nono/events';
import { type BackendState } from './backend-status.js';

const PROBE_TIMEOUT_MS = 2_500;

/**
 * Asks the Kafka cluster for its metadata through one admin client kept for the process
 * (kafkajs reconnects it on the next call after an outage). A probe that takes longer than
 * PROBE_TIMEOUT_MS counts as unreachable: kafkajs' own retries would otherwise hold the
 * answer for many seconds while the UI waits.
 */
export function kafkaClusterProbe(kafka: ReturnType<typeof createKafka>): {
  probe: () => Promise<BackendState>;
  close: () => Promise<void>;
} {
  const admin = kafka.admin({ retry: { retries: 0 } });
  let connected: Promise<void> | undefined;
  const probe = async (): Promise<BackendState> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), PROBE_TIMEOUT_MS);
    });
    try {
      connected ??= admin.connect();
      const cluster = await Promise.race([connected.then(() => admin.describeCluster()), timeout]);
      return { reachable: true, detail: `${cluster.brokers.length} broker(s)` };
    } catch {
      // A failed connect is not cached: the next probe connects again.
      connected = undefined;
      return { reachable: false, detail: 'no broker answered' };
    } finally {
      clearTimeout(timer);
    }
  };
  return { probe, close: () => admin.disconnect() };
}
