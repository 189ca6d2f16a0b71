import {
  EVENT_TYPES,
  type NonoEvent,
  type Result,
  type Validator,
  compileValidator,
  envelopeSchema,
  fail,
  ok,
  parseEvent,
} from '@nono/domain';
import { type TSchema } from '@sinclair/typebox';
import {
  type Admin,
  Kafka,
  type KafkaConfig,
  type Message,
  Partitioners,
  logLevel,
  type logCreator,
  type Producer,
} from 'kafkajs';
import { type TopicNames, topicOf, topicSpecs } from './topics.js';

/** CloudEvents' Kafka binding, structured mode: the whole envelope is the value. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

export type KafkaLogLevel = 'error' | 'warn' | 'info' | 'debug';

export type KafkaLog = (level: KafkaLogLevel, message: string, extra: Record<string, unknown>) => void;

export function createKafka(options: {
  brokers: readonly string[];
  clientId: string;
  log?: KafkaLog;
}): Kafka {
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: logLevel.WARN,
  };
  const log = options.log;
  if (log !== undefined) config.logCreator = kafkaLogCreator(log);
  return new Kafka(config);
}

function kafkaLogCreator(log: KafkaLog): logCreator {
  return () =>
    ({ level, log: entry }) => {
      const { message, ...extra } = entry;
      log(levelInNonoLog(level, message, extra), `kafka: ${message}`, extra);
    };
}

/**
 * Answers a broker gives while a cluster starts. A coordinator (of a consumer group, of the
 * idempotent producers' ids) is not there yet or still loads its topic: kafkajs retries the
 * request, whichever it was. Two services created the same topics at once: their error is
 * TOPIC_ALREADY_EXISTS, which kafkajs accepts (any other fails `ensureTopics`, and the service
 * says so). kafkajs logs each of these answers as an error first; nono hears of them only when
 * they fail the call. Matched exactly: any other error stays one.
 */
const START_UP_ANSWERS: ReadonlyArray<{ request: string; error: string }> = [
  { request: '', error: 'The group coordinator is not available' },
  { request: '', error: "The coordinator is loading and hence can't process requests for this group" },
  { request: 'CreateTopics(', error: 'Topic creation errors' },
];

/** kafkajs warnings about choices nono made on purpose, each explained where it is made. */
const CHOSEN = [
  // EventPublisher limits the idempotent producer's retries (see its constructor).
  'Limiting retries for the idempotent producer may invalidate EoS guarantees',
  // Only a producer without `createPartitioner` (tests' raw producers) sees it; the hash is the v2 one.
  'KafkaJS v2.0.0 switched default partitioner.',
];

/** kafkajs's level for a line, except debug for the expected and the chosen ones above. */
function levelInNonoLog(level: logLevel, message: string, extra: Record<string, unknown>): KafkaLogLevel {
  const expected =
    (level === logLevel.ERROR &&
      START_UP_ANSWERS.some(
        ({ request, error }) => message.startsWith(`Response ${request}`) && extra['error'] === error,
      )) ||
    (level === logLevel.WARN && CHOSEN.some((warning) => message.startsWith(warning)));
  if (expected) return 'debug';
  switch (level) {
    case logLevel.ERROR:
      return 'error';
    case logLevel.WARN:
      return 'warn';
    case logLevel.INFO:
      return 'info';
    default:
      return 'debug';
  }
}

/**
 * Creates the topics if they are missing (idempotent), and returns once every partition has a leader.
 *
 * kafkajs's own `waitForLeaders` retries only LEADER_NOT_AVAILABLE; a KRaft broker that has not yet
 * applied the new topic to its metadata answers UNKNOWN_TOPIC_OR_PARTITION ("This server does not host
 * this topic-partition") for a moment, which kafkajs throws. So the wait is done here, retrying both.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: TopicNames,
  partitions = 6,
  leaderTimeoutMs = 30_000,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const specs = topicSpecs(topics, partitions);
    const missing = specs.filter((spec) => !existing.has(spec.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.numPartitions,
          replicationFactor: -1,
          configEntries: [{ name: 'retention.ms', value: String(spec.retentionMs) }],
        })),
      });
    }
    await waitForLeaders(
      admin,
      specs.map((spec) => spec.topic),
      leaderTimeoutMs,
    );
  } finally {
    await admin.disconnect();
  }
}

async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let pending: string;
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
      const leaderless = metadata.topics.find(
        (topic) =>
          topic.partitions.length === 0 || topic.partitions.some((partition) => partition.leader < 0),
      );
      if (leaderless === undefined) return;
      pending = `${leaderless.name} has a partition without a leader`;
    } catch (error) {
      // Mostly UNKNOWN_TOPIC_OR_PARTITION while the topic propagates; whatever it is, it is retried
      // until the deadline and then reported with the last answer.
      pending = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`topics not ready after ${timeoutMs} ms: ${pending}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** An event with its JSON already serialised (by a spool that wrote it to disk): sent as is. */
export interface EncodedEvent {
  readonly event: EventHeader;
  readonly json: Buffer;
}

/** What a record needs besides the JSON: its topic (by type), key (subject) and id header. */
export type EventHeader = Pick<NonoEvent, 'type' | 'id' | 'subject'>;

export function encodeEvent(event: NonoEvent): Message {
  return encodedMessage(event, JSON.stringify(event));
}

export function encodedMessage(event: EventHeader, json: Buffer | string): Message {
  return {
    key: event.subject,
    value: json,
    headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE, ce_type: event.type, ce_id: event.id },
  };
}

/**
 * Compiled checks for the event types whose schema has no defaults: for those, a freshly
 * parsed value that passes the check is exactly what `parseEvent` would return, without its
 * copy and its default-filling walk (a sixth of history's projector CPU and an eighth of the
 * alerts engine's, in profiles). Types with defaults (task definitions carry task specs) and
 * every invalid record go through `parseEvent`, which also names the issues.
 */
const COMPLETE_CHECKS = new Map<string, Validator<TSchema>>(
  EVENT_TYPES.map((type) => envelopeSchema(type))
    .filter((schema) => !JSON.stringify(schema).includes('"default":'))
    .map((schema) => [String(schema.properties.type.const), compileValidator(schema)]),
);

/** Decodes and validates a record's value; anything else becomes issues for a dead-letter table. */
export function decodeEvent(value: Buffer | null): Result<NonoEvent> {
  if (value === null) return fail([{ field: '', message: 'record has no value (tombstone)' }]);
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return fail([{ field: '', message: `not JSON: ${(error as Error).message}` }]);
  }
  const type = (json as { type?: unknown } | null)?.type;
  const check = typeof type === 'string' ? COMPLETE_CHECKS.get(type) : undefined;
  if (check?.is(json) === true) return ok(json as NonoEvent);
  return parseEvent(json);
}

/** The event types `decodeEvent` checks without copying (for tests). */
export function completeCheckedTypes(): string[] {
  return [...COMPLETE_CHECKS.keys()];
}

/**
 * Publishes events with an idempotent producer (no duplicates from producer retries,
 * order kept per partition). Returns only once the broker acknowledged every event.
 */
export class EventPublisher {
  readonly #producer: Producer;
  readonly #topics: TopicNames;
  #connected = false;

  constructor(kafka: Kafka, topics: TopicNames) {
    this.#topics = topics;
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      // Limited on purpose (kafkajs warns about it): a send that gives up is retried whole by
      // the caller (the scheduler's spool) with the same event ids, so order holds and a
      // repeat is dropped by consumers; unlimited retries would hide an outage from the caller.
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 3_000 },
    });
  }

  async connect(): Promise<void> {
    if (this.#connected) return;
    await this.#producer.connect();
    this.#connected = true;
  }

  async publish(events: readonly NonoEvent[]): Promise<void> {
    await this.#send(
      events.map((event) => encodeEvent(event)),
      events,
    );
  }

  /** Like `publish`, without serialising again what the caller already holds as JSON. */
  async publishEncoded(items: readonly EncodedEvent[]): Promise<void> {
    await this.#send(
      items.map((item) => encodedMessage(item.event, item.json)),
      items.map((item) => item.event),
    );
  }

  async #send(messages: readonly Message[], events: readonly EventHeader[]): Promise<void> {
    if (events.length === 0) return;
    await this.connect();
    const byTopic = new Map<string, Message[]>();
    for (const [index, event] of events.entries()) {
      const topic = topicOf(event, this.#topics);
      let topicMessages = byTopic.get(topic);
      if (topicMessages === undefined) byTopic.set(topic, (topicMessages = []));
      topicMessages.push(messages[index] as Message);
    }
    await this.#producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }

  async disconnect(): Promise<void> {
    if (!this.#connected) return;
    this.#connected = false;
    await this.#producer.disconnect();
  }
}
