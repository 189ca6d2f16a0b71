import {
  type ZkClient,
  type ZkOutbox,
  type ZnodeLayout,
  calendarDocument,
  isZkError,
} from '@nono/coordination';
import { type Calendar, type CalendarSpec, type NonoEvent, formatInstant } from '@nono/domain';
import { ApiError, ApiErrorCode } from '../errors.js';
import { mapZkError, recordWithOutbox } from '../zk-errors.js';

export interface VersionedCalendar {
  readonly calendar: Calendar;
  readonly version: number;
}

/** The calendar `spec` makes: a new one, or the next revision of `current`, written at `now`. */
export function nextCalendar(
  name: string,
  spec: CalendarSpec,
  current: VersionedCalendar | undefined,
  now: number,
): Calendar {
  const at = formatInstant(now);
  return {
    name,
    createdAt: current?.calendar.createdAt ?? at,
    updatedAt: at,
    revision: (current?.calendar.revision ?? 0) + 1,
    ...spec,
  };
}

/**
 * Exclusion calendars in ZooKeeper (`/calendars/<name>`, one document each). Every change of
 * an existing calendar is a compare-and-set at the version read, so two admins never
 * overwrite each other silently; the schedulers watch the nodes and apply a change at once.
 * Every change carries its audit event through the outbox (stage, change, commit), as task
 * and worker group changes do.
 */
export class ZkCalendars {
  readonly #zk: ZkClient;
  readonly #layout: ZnodeLayout;
  readonly #outbox: ZkOutbox;

  constructor(options: { zk: ZkClient; layout: ZnodeLayout; outbox: ZkOutbox }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
    this.#outbox = options.outbox;
  }

  async list(): Promise<Calendar[]> {
    try {
      const names = (await this.#zk.children(this.#layout.calendars)).sort();
      const calendars: Calendar[] = [];
      for (const name of names) {
        const current = await this.get(name);
        if (current !== undefined) calendars.push(current.calendar);
      }
      return calendars;
    } catch (error) {
      throw mapZkError(error, 'read');
    }
  }

  async get(name: string): Promise<VersionedCalendar | undefined> {
    try {
      const { data, stat } = await this.#zk.get(this.#layout.calendar(name));
      const parsed = calendarDocument.parse(data);
      if (!parsed.ok) throw new ApiError(ApiErrorCode.Internal, `calendar "${name}" is stored damaged`);
      return { calendar: parsed.value, version: stat.version };
    } catch (error) {
      if (isZkError(error) && error.isNoNode) return undefined;
      throw mapZkError(error, 'read');
    }
  }

  /** Creates `calendar`, or replaces `current` with it at the version read; `event` is its audit fact. */
  put(
    calendar: Calendar,
    current: VersionedCalendar | undefined,
    event: NonoEvent,
  ): Promise<VersionedCalendar> {
    const path = this.#layout.calendar(calendar.name);
    return this.#withOutbox(event, calendar.name, async () => {
      if (current === undefined) {
        await this.#zk.create(path, calendarDocument.encode(calendar));
        return { calendar, version: 0 };
      }
      const stat = await this.#zk.set(path, calendarDocument.encode(calendar), current.version);
      return { calendar, version: stat.version };
    });
  }

  remove(current: VersionedCalendar, event: NonoEvent): Promise<void> {
    const name = current.calendar.name;
    return this.#withOutbox(event, name, () => this.#zk.delete(this.#layout.calendar(name), current.version));
  }

  #withOutbox<T>(event: NonoEvent, name: string, change: () => Promise<T>): Promise<T> {
    return recordWithOutbox(this.#outbox, event, change, (error, during) => {
      if (error instanceof ApiError) return error;
      if (isZkError(error) && (error.isNodeExists || error.isBadVersion || error.isNoNode))
        return new ApiError(
          ApiErrorCode.CalendarConflict,
          `calendar "${name}" changed meanwhile; read it again`,
        );
      return mapZkError(error, during);
    });
  }
}
