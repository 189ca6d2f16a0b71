import { type ZkClient, type ZnodeLayout, calendarDocument, isZkError } from '@nono/coordination';
import { CalendarExclusions, type EpochMs, excludingCalendar } from '@nono/domain';
import { type Logger, coalesced } from '@nono/runtime';
import { WatchPerPath } from './watch-per-path.js';

/**
 * The exclusion calendars (`/calendars/<name>`), compiled and held in memory, kept current by
 * ZooKeeper watches: a calendar changed through the API applies to the next claim (within the
 * claim lead) on every scheduler, with no restart. Read when the scheduler's session connects,
 * before it owns any task. A calendar that does not parse or is missing excludes nothing, and
 * is logged: the API refuses both (a bad document, deleting a calendar a task references).
 */
export class CalendarBook {
  readonly #zk: () => ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #log: Logger;
  #calendars = new Map<string, CalendarExclusions>();
  readonly #watches = new WatchPerPath(() => void this.#reload());

  constructor(options: { zk: () => ZkClient; layout: ZnodeLayout; log: Logger }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#log = options.log;
  }

  /** A new ZooKeeper session: the old one's watches are gone; read everything again. */
  onSessionConnected(): Promise<void> {
    this.#watches.reset();
    return this.#reload();
  }

  /** The first of `names` that excludes the instant (the engine's `excludedBy`). */
  readonly excludedBy = (names: readonly string[] | undefined, nominal: EpochMs): string | undefined =>
    excludingCalendar(names, this.#calendars, nominal);

  readonly #reload = coalesced(() => this.#reloadOnce());

  async #reloadOnce(): Promise<void> {
    try {
      const zk = this.#zk();
      const calendars = new Map<string, CalendarExclusions>();
      const parent = this.#layout.calendars;
      for (const name of await zk.children(parent, this.#watches.watcher(parent))) {
        const path = this.#layout.calendar(name);
        try {
          const { data } = await zk.get(path, this.#watches.watcher(path));
          const parsed = calendarDocument.parse(data);
          if (parsed.ok) calendars.set(name, new CalendarExclusions(parsed.value));
          else
            this.#log.error(
              { calendar: name, issues: parsed.issues },
              'calendar does not parse: it excludes nothing',
            );
        } catch (error) {
          this.#watches.forget(path);
          if (!(isZkError(error) && error.isNoNode)) throw error;
        }
      }
      this.#calendars = calendars;
    } catch (error) {
      // The next ZooKeeper session (or watch) reads again; until then the last good view stays.
      this.#log.warn({ err: error }, 'could not read the calendars from ZooKeeper');
    }
  }
}
