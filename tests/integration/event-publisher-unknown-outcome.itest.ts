import net from 'node:net';
import { type NonoEvent } from '@nono/domain';
import { EventPublisher } from '@nono/events';
import { Kafka, type ISocketFactory, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectEvents } from '../support/cluster.js';
import { firedEvent } from '../support/events.js';
import { type Isolation, createIsolatedTopics, eventually, isolate } from '../support/fixtures.js';

/**
 * A publish whose outcome is unknown: the broker stored the batch but the answer never came
 * back (a partition leader that dies after its followers copied a batch and before it answered;
 * a connection cut at that moment). kafkajs then takes back the batch's sequence numbers, so
 * its next, larger batch on that partition starts at a sequence the broker already holds: the
 * broker answers OUT_OF_ORDER_SEQUENCE_NUMBER, which kafkajs never retries nor recovers from,
 * and every later publish to the partition failed for the life of the producer (seen on
 * 2026-12-02 before EventPublisher started over with a new producer after a failed send).
 */

/** Sockets that, while `dropping`, deliver Produce requests and then lose the connection before the answer. */
function lossyProduceSockets(): { factory: ISocketFactory; dropping: boolean; dropped: number } {
  const control = {
    dropping: false,
    dropped: 0,
    factory: (({ host, port, onConnect }) => {
      const socket = net.connect({ host, port }, onConnect);
      const write = socket.write.bind(socket) as (chunk: unknown, encoding?: unknown) => boolean;
      socket.write = (chunk: unknown, encoding?: unknown) => {
        // A request is one write: int32 size, then int16 api key (0 = Produce).
        const produce =
          control.dropping && Buffer.isBuffer(chunk) && chunk.length > 6 && chunk.readInt16BE(4) === 0;
        const written = write(chunk, encoding);
        if (produce) {
          control.dropped++;
          const emit = socket.emit.bind(socket);
          socket.emit = ((event: string | symbol, ...args: unknown[]) =>
            event === 'data' ? false : emit(event, ...args)) as typeof socket.emit;
          // Long enough for the broker to store the batch; then the connection is lost.
          setTimeout(() => socket.destroy(new Error('connection lost before the answer (test)')), 500);
        }
        return written;
      };
      return socket;
    }) as ISocketFactory,
  };
  return control;
}

describe('a publish whose outcome is unknown (real broker)', () => {
  let iso: Isolation;
  beforeAll(async () => {
    iso = await isolate('publisher-unknown-outcome');
    await createIsolatedTopics(iso, 3);
  });
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('does not keep the publisher from publishing the next, larger batch', async () => {
    const sockets = lossyProduceSockets();
    const kafka = new Kafka({
      clientId: `unknown-outcome-${iso.name}`,
      brokers: iso.kafkaBrokers,
      socketFactory: sockets.factory,
      logLevel: logLevel.NOTHING,
    });
    const publisher = new EventPublisher(kafka, iso.topics);
    cleanups.push(() => publisher.disconnect());
    // One task: every event goes to the same partition, under one sequence.
    const events: NonoEvent[] = Array.from({ length: 4 }, (_, n) => firedEvent('unknown-outcome', n));
    const [first, second, third, fourth] = events;
    if (first === undefined || second === undefined || third === undefined || fourth === undefined)
      throw new Error('four events expected');

    await publisher.publish([first]);
    sockets.dropping = true;
    await expect(publisher.publish([second, third])).rejects.toThrow();
    sockets.dropping = false;
    expect(sockets.dropped).toBeGreaterThan(0);

    const log = await collectEvents(iso, iso.topics.executions);
    cleanups.push(() => log.stop());
    // The failed publish was stored all the same.
    await eventually(
      () => (log.events.some((e) => e.id === third.id) ? true : undefined),
      20_000,
      'the unacknowledged batch on the topic',
    );

    // What the scheduler's spool does next: the undelivered events again, with what came since.
    await publisher.publish([second, third, fourth]);
    await publisher.publish([firedEvent('unknown-outcome', 4)]);
    await eventually(
      () => (log.events.some((e) => e.id === firedEvent('unknown-outcome', 4).id) ? true : undefined),
      20_000,
      'the later events on the topic',
    );
    const ids = new Set(log.events.map((e) => e.id));
    expect(events.every((e) => ids.has(e.id))).toBe(true);
  }, 120_000);
});
