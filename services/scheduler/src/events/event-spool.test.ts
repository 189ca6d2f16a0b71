import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NonoEvent, createEvent } from '@nono/domain';
import { type EncodedEvent } from '@nono/events';
import { createLogger } from '@nono/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { EventSpool, type EventSpoolOptions, type SpoolFile, openSpoolFile } from './event-spool.js';

/* The spool on a real temporary directory; Kafka is a recording publisher (the outage itself is in tests/scheduler). */
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function joined(n: number): NonoEvent {
  return createEvent(
    'nono.scheduler.joined.v1',
    { schedulerId: `s${n}`, host: 'h', pid: n, version: '1', startedAt: '2026-06-01T00:00:00.000Z' },
    {
      id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      source: 'nono://test',
      subject: 's',
      time: 0,
    },
  );
}

/** What a new spool on `dir` would queue for delivery. */
async function undeliveredAfterRestart(dir: string): Promise<number> {
  const again = new EventSpool({
    dir,
    publisher: { publish: () => Promise.reject(new Error('Kafka is down')) },
    log: createLogger('spool-test', 'silent'),
  });
  const undelivered = await again.open();
  await again.close(0);
  return undelivered;
}

/** A spool on a fresh temporary directory whose Kafka is a list of what it delivered. */
function recordingSpool(options: Partial<EventSpoolOptions> = {}): {
  dir: string;
  spool: EventSpool;
  delivered: EncodedEvent[];
} {
  const dir = mkdtempSync(join(tmpdir(), 'nono-spool-test-'));
  dirs.push(dir);
  const delivered: EncodedEvent[] = [];
  const spool = new EventSpool({
    dir,
    publisher: { publish: (batch) => Promise.resolve(void delivered.push(...batch)) },
    log: createLogger('spool-test', 'silent'),
    ...options,
  });
  return { dir, spool, delivered };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

describe('EventSpool', () => {
  it('delivers in order, serialising each event once, and compacts the delivered log', async () => {
    const { dir, spool, delivered } = recordingSpool({
      maxBatch: 7,
      compactAtBytes: 2_000,
    });
    await spool.open();
    for (let n = 0; n < 60; n++) spool.append([joined(n)]);
    await until(() => delivered.length === 60);
    expect(delivered.map((item) => item.event.id)).toEqual(
      Array.from({ length: 60 }, (_, n) => joined(n).id),
    );
    expect(JSON.parse(delivered[0]?.json.toString() ?? '')).toEqual(delivered[0]?.event);
    // Everything delivered and past the threshold: the log is truncated and the cursor reset.
    await until(() => statSync(join(dir, 'events.jsonl')).size === 0);
    await until(() => readFileSync(join(dir, 'cursor'), 'utf8') === '0');

    spool.append([joined(60)]);
    await until(() => delivered.length === 61);
    expect(await spool.close(1_000)).toBe(0);

    // A restart finds nothing undelivered.
    expect(await undeliveredAfterRestart(dir)).toBe(0);
  });
});

describe('EventSpool while Kafka does not answer', () => {
  it('counts Kafka unreachable once a batch has waited unreachableAfterMs, and reachable again once it is acknowledged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nono-spool-test-'));
    dirs.push(dir);
    // The publisher retries for a long time (a leader moving); the spool hears nothing meanwhile.
    let answer: (() => void) | undefined;
    const spool = new EventSpool({
      dir,
      publisher: { publish: () => new Promise<void>((resolve) => (answer = resolve)) },
      log: createLogger('spool-test', 'silent'),
      unreachableAfterMs: 50,
    });
    await spool.open();
    spool.append([joined(0)]);
    await until(() => answer !== undefined);
    await until(() => !spool.kafkaHealthy);
    answer?.();
    await until(() => spool.depth === 0);
    expect(spool.kafkaHealthy).toBe(true);
    expect(await spool.close(1_000)).toBe(0);
  });
});

/** The real log file, with writes that fail on demand (a full or failing disk). */
class FailingDisk {
  failing = false;
  syncFailing = false;
  writes = 0;
  open = async (path: string): Promise<SpoolFile> => {
    const file = await openSpoolFile(path);
    return {
      write: (data) => {
        this.writes++;
        if (this.failing) {
          // A partial line reaches the disk before the error, as with ENOSPC mid-write.
          file.write(data.subarray(0, Math.floor(data.length / 2)));
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        file.write(data);
      },
      datasync: () =>
        this.syncFailing
          ? Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))
          : file.datasync(),
      truncate: (length) => file.truncate(length),
      close: () => file.close(),
    };
  };
}

describe('EventSpool on a failing disk', () => {
  it('fails closed: a failed write rejects its flush, reports not writable, delivers nothing unwritten, and recovers in order', async () => {
    const disk = new FailingDisk();
    const writability: boolean[] = [];
    const { dir, spool, delivered } = recordingSpool({
      openFile: disk.open,
      onWritable: (writable) => writability.push(writable),
    });
    await spool.open();
    spool.append([joined(0), joined(1)]);
    await spool.flush();
    await until(() => delivered.length === 2);

    disk.failing = true;
    spool.append([joined(2), joined(3)]);
    await expect(spool.flush()).rejects.toThrow(/ENOSPC/);
    expect(spool.writable).toBe(false);
    expect(spool.writeError).toMatch(/ENOSPC/);
    expect(writability).toEqual([false]);
    // Not durable, so not delivered: the cursor counts bytes of the log.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(delivered).toHaveLength(2);
    expect(spool.depth).toBe(2);
    // The torn half-line was cut back: the log holds exactly the two durable lines.
    expect(readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(2);

    spool.append([joined(4)]);
    disk.failing = false;
    // Retried on its own, with back-off; order kept.
    await until(() => delivered.length === 5);
    expect(delivered.map((item) => item.event.id)).toEqual([0, 1, 2, 3, 4].map((n) => joined(n).id));
    expect(spool.writable).toBe(true);
    expect(writability).toEqual([false, true]);
    expect(await spool.close(1_000)).toBe(0);

    // What the log holds is what was delivered: a restart resends nothing.
    expect(await undeliveredAfterRestart(dir)).toBe(0);
  });
});

describe('EventSpool.written', () => {
  const lines = (dir: string): string[] =>
    readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean);

  it('puts what was appended in the file at once when asked, long before the next flush, and syncs it later', async () => {
    const { dir, spool, delivered } = recordingSpool({
      flushIntervalMs: 60_000,
    });
    await spool.open();
    spool.append([joined(0)]);
    spool.append([joined(1)]);
    const first = spool.written();
    spool.append([joined(2)]);
    expect(await first).toBe(true);
    // A process killed now still has both facts (and the third, written with them).
    expect(lines(dir).map((line) => (JSON.parse(line) as NonoEvent).id)).toEqual(
      [0, 1, 2].map((n) => joined(n).id),
    );
    expect(await spool.written()).toBe(true);
    // Written is not synced: nothing goes to Kafka before the flush's fdatasync.
    expect(delivered).toHaveLength(0);
    await spool.flush();
    await until(() => delivered.length === 3);
    expect(await spool.close(1_000)).toBe(0);
  });

  it('writes again what a failed fdatasync covered, once, in order, and keeps it from Kafka until synced', async () => {
    const disk = new FailingDisk();
    const { dir, spool, delivered } = recordingSpool({
      openFile: disk.open,
      flushIntervalMs: 60_000,
    });
    await spool.open();
    spool.append([joined(0)]);
    await spool.flush();
    await until(() => delivered.length === 1);

    disk.syncFailing = true;
    spool.append([joined(1), joined(2)]);
    expect(await spool.written()).toBe(true);
    await expect(spool.flush()).rejects.toThrow(/EIO/);
    expect(spool.writable).toBe(false);
    // Cut back to the synced line; the two wait in memory to be written again.
    expect(lines(dir)).toHaveLength(1);
    expect(spool.depth).toBe(2);
    disk.syncFailing = false;
    await until(() => delivered.length === 3);
    expect(delivered.map((item) => item.event.id)).toEqual([0, 1, 2].map((n) => joined(n).id));
    expect(lines(dir)).toHaveLength(3);
    expect(await spool.close(1_000)).toBe(0);
    expect(await undeliveredAfterRestart(dir)).toBe(0);
  });

  it('answers false to a wait the spool closed before it could write (a failing disk)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nono-spool-test-'));
    dirs.push(dir);
    const disk = new FailingDisk();
    const spool = new EventSpool({
      dir,
      openFile: disk.open,
      publisher: { publish: () => Promise.resolve() },
      log: createLogger('spool-test', 'silent'),
    });
    await spool.open();
    disk.failing = true;
    spool.append([joined(0)]);
    const waiting = spool.written();
    await until(() => !spool.writable);
    await spool.close(0);
    expect(await waiting).toBe(false);
    expect(await spool.written()).toBe(false);
  });
});
