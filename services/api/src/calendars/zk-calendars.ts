import { type ZkClient, type ZnodeLayout, calendarDocument, isZkError } from '@nono/coordination';
import { type Calendar, type CalendarSpec, formatInstant } from '@nono/domain';
import { ApiError, ApiErrorCode } from '../errors.js';
import { mapZkError } from '../zk-errors.js';

export interface VersionedCalendar {
  readonly calendar: Calendar;
  readonly version: number;
}

/**
 * Exclusion calendars in ZooKeeper (`/calendars/<name>`, one document each). Every change of
 * an existing calendar is a compare-and-set at the version read, so two admins never
 * overwrite each other silently; the schedulers watch the nodes and apply a change at once.
 */
export class ZkCalendars {
  readonly #zk: ZkClient;
  readonly #layout: ZnodeLayout;

  constructor(options: { zk: ZkClient; layout: ZnodeLayout }) {
    this.#zk = options.zk;
    this.#layout = options.layout;
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

  /** Creates the calendar, or replaces `current` at its version (the next revision). */
  async put(
    name: string,
    spec: CalendarSpec,
    current: VersionedCalendar | undefined,
    now: number,
  ): Promise<VersionedCalendar> {
    const at = formatInstant(now);
    const calendar: Calendar = {
      name,
      createdAt: current?.calendar.createdAt ?? at,
      updatedAt: at,
      revision: (current?.calendar.revision ?? 0) + 1,
      ...spec,
    };
    const path = this.#layout.calendar(name);
    try {
      if (current === undefined) {
        await this.#zk.create(path, calendarDocument.encode(calendar));
        return { calendar, version: 0 };
      }
      const stat = await this.#zk.set(path, calendarDocument.encode(calendar), current.version);
      return { calendar, version: stat.version };
    } catch (error) {
      if (isZkError(error) && (error.isNodeExists || error.isBadVersion || error.isNoNode))
        throw new ApiError(
          ApiErrorCode.CalendarConflict,
          `calendar "${name}" changed meanwhile; read it again`,
        );
      throw mapZkError(error, 'write');
    }
  }

  async remove(current: VersionedCalendar): Promise<void> {
    try {
      await this.#zk.delete(this.#layout.calendar(current.calendar.name), current.version);
    } catch (error) {
      if (isZkError(error) && (error.isBadVersion || error.isNoNode))
        throw new ApiError(
          ApiErrorCode.CalendarConflict,
          `calendar "${current.calendar.name}" changed meanwhile; read it again`,
        );
      throw mapZkError(error, 'write');
    }
  }
}
