import { parentPort, workerData } from 'node:worker_threads';
import { EventPublisher, createKafka, ensureTopics, topicNames } from '@nono/events';
import { createLogger } from '@nono/runtime';
import {
  type PublisherReply,
  type PublisherRequest,
  type PublisherThreadConfig,
} from './threaded-publisher.js';

/**
 * The Kafka producer's thread (see ThreadedPublisher): kafkajs' encoding, request and
 * response handling run here, on the second core, instead of between fires.
 */
const config = workerData as PublisherThreadConfig;
const port = parentPort;
if (port === null) throw new Error('publisher-thread.js runs as a worker thread');

const log = createLogger('scheduler', config.logLevel, { schedulerId: config.schedulerId, thread: 'kafka' });
const kafka = createKafka({
  brokers: config.brokers,
  security: config.kafkaSecurity,
  clientId: config.clientId,
  log: (level, message, extra) => log[level](extra, message),
});
const topics = topicNames(config.topicPrefix);
const publisher = new EventPublisher(kafka, topics);
let topicsReady = false;

async function handle(request: PublisherRequest): Promise<PublisherReply> {
  try {
    if (request.kind === 'close') {
      await publisher.disconnect();
      return { id: request.id };
    }
    if (!topicsReady) {
      await ensureTopics(kafka, topics, config.kafkaReplication);
      topicsReady = true;
    }
    const bytes = Buffer.from(request.bytes);
    await publisher.publishEncoded(
      request.records.map((record) => ({
        event: record,
        json: bytes.subarray(record.start, record.end),
      })),
    );
    return { id: request.id };
  } catch (error) {
    return { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
}

port.on('message', (request: PublisherRequest) => {
  void handle(request).then((reply) => port.postMessage(reply));
});
