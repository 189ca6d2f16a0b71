/** Where a rebuild is: building up to the end offsets captured at its start, then catching up with what was published meanwhile. */
export type RebuildPhase = 'building' | 'catching-up' | 'swapping' | 'done' | 'failed';

export interface RebuildProgress {
  readonly phase: RebuildPhase;
  /** Records read from Kafka into the new database so far. */
  readonly records: number;
  /** Records per second over the whole rebuild. */
  readonly eventsPerSecond: number;
  /** Records in Kafka the new database has not projected yet (against the freshest known end offsets). */
  readonly remainingLag: number;
  readonly elapsedMs: number;
}

/** The CLI's progress line, the same for an offline rebuild and one run by the service. */
export function formatProgress(progress: RebuildProgress): string {
  return `rebuild: ${progress.phase}, ${progress.records} records, ${progress.eventsPerSecond} events/s, ${progress.remainingLag} remaining lag, ${(progress.elapsedMs / 1000).toFixed(1)} s`;
}

export function ratePerSecond(records: number, elapsedMs: number): number {
  return Math.round(records / Math.max(elapsedMs / 1000, 0.001));
}
