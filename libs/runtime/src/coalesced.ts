/**
 * Wraps a refresh (re-read a ZooKeeper subtree, say) so that runs never overlap and bursts of
 * requests collapse: a request during a run schedules one more run after it, and every
 * returned promise resolves only after a run that began after that request, so a caller that
 * awaits it sees what it changed just before. `run` must not throw (it handles its own errors).
 */
export function coalesced(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  return () => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await run();
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
}
