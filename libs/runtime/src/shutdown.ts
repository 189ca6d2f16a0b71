import { type Logger } from 'pino';

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits: 0 when it finished in time, 1 when
 * the deadline passed (the process must not hang a deployment). A second signal exits at once.
 */
export function exitOnSignals(
  stop: (signal: string) => Promise<void>,
  options: { log: Logger; deadlineMs: number },
): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      options.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    options.log.info({ signal }, 'stopping');
    const deadline = setTimeout(() => {
      options.log.error({ deadlineMs: options.deadlineMs }, 'graceful stop took too long: exiting');
      process.exit(1);
    }, options.deadlineMs);
    deadline.unref();
    stop(signal).then(
      () => {
        options.log.info('stopped');
        // A process that stops itself for a reason (e.g. a lost ZooKeeper session) sets exitCode first.
        process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      },
      (error: unknown) => {
        options.log.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
