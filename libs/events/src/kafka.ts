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
  type ConfigResourceTypes,
  Kafka,
  type KafkaConfig,
  type Message,
  Partitioners,
  logLevel,
  type logCreator,
  type Producer,
} from 'kafkajs';
import {
  type ExistingTopicReplication,
  type ReplicationShortfall,
  type ResolvedReplication,
  type TopicNames,
  type TopicReplication,
  replicationFor,
  replicationShortfalls,
  topicOf,
  topicSpecs,
} from './topics.js';
import { type KafkaSecurity, kafkaSecurityOptions } from './kafka-security.js';

/** CloudEvents' Kafka binding, structured mode: the whole envelope is the value. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

export type KafkaLogLevel = 'error' | 'warn' | 'info' | 'debug';

export type KafkaLog = (level: KafkaLogLevel, message: string, extra: Record<string, unknown>) => void;

/**
 * A kafkajs client with nono's timeouts and retries. `security`: TLS and SASL (the services pass
 * `CommonConfig.kafkaSecurity`, from NONO_KAFKA_TLS_* and NONO_KAFKA_SASL_*); none when omitted.
 */
export function createKafka(options: {
  brokers: readonly string[];
  clientId: string;
  log?: KafkaLog;
  security?: KafkaSecurity | undefined;
}): Kafka {
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: [...options.brokers],
    ...(options.security === undefined ? {} : kafkaSecurityOptions(options.security)),
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
  // EventPublisher limits the idempotent producer's retries (see PUBLISH_RETRY and its producers).
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

export interface EnsureTopicsOptions extends TopicReplication {
  /** Partitions of the keyed topics (the cluster topic has one); default 6. */
  readonly partitions?: number;
  readonly leaderTimeoutMs?: number;
}

/** What ensureTopics settled on, and the existing topics replicated less than that. */
export interface TopicsReport extends ResolvedReplication {
  readonly brokers: number;
  readonly shortfalls: readonly ReplicationShortfall[];
}

/**
 * Creates the topics if they are missing (idempotent), and returns once every partition has a leader.
 *
 * Replication: each missing topic is created with the configured replication factor and
 * `min.insync.replicas`, or those derived from the brokers the cluster reports (`replicationFor`).
 * An existing topic replicated less is not changed (moving replicas is an operator's decision,
 * and takes a reassignment) but reported: in the result and as an error in the Kafka client's log.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: TopicNames,
  options: EnsureTopicsOptions = {},
): Promise<TopicsReport> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const brokers = (await admin.describeCluster()).brokers.length;
    const wanted = replicationFor(brokers, options);
    const existing = new Set(await admin.listTopics());
    const specs = topicSpecs(topics, options.partitions ?? 6);
    const missing = specs.filter((spec) => !existing.has(spec.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.numPartitions,
          replicationFactor: wanted.replicationFactor,
          configEntries: [
            { name: 'retention.ms', value: String(spec.retentionMs) },
            { name: 'min.insync.replicas', value: String(wanted.minInsyncReplicas) },
          ],
        })),
      });
    }
    const existingReplication = await waitForTopics(
      admin,
      specs.map((spec) => spec.topic),
      options.leaderTimeoutMs ?? 30_000,
    );
    const shortfalls = replicationShortfalls(existingReplication, wanted);
    const logger = kafka.logger();
    for (const shortfall of shortfalls)
      logger.error(shortfall.message, {
        topic: shortfall.topic,
        replicationFactor: shortfall.replicationFactor,
        minInsyncReplicas: shortfall.minInsyncReplicas,
      });
    return { brokers, ...wanted, shortfalls };
  } finally {
    await admin.disconnect();
  }
}

/**
 * kafkajs's `ConfigResourceTypes.TOPIC`: the enum is missing from the names Node's ESM loader
 * finds in kafkajs's CommonJS exports, so the built services could not import it.
 */
const TOPIC_RESOURCE: ConfigResourceTypes = 2;

/**
 * Waits until every partition of the topics has a leader and their configuration can be read;
 * resolves each topic's fewest replicas over its partitions and its min.insync.replicas.
 *
 * kafkajs's own `waitForLeaders` retries only LEADER_NOT_AVAILABLE; a KRaft broker that has not yet
 * applied a new topic to its metadata answers UNKNOWN_TOPIC_OR_PARTITION ("This server does not
 * host this topic-partition") for a moment, which kafkajs throws, and in a cluster another broker
 * (the one a config request goes to) can answer so after the first has listed the leaders. So the
 * wait is done here, retrying whatever fails until the deadline.
 */
async function waitForTopics(
  admin: Admin,
  topics: readonly string[],
  timeoutMs: number,
): Promise<ExistingTopicReplication[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let pending: string;
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
      const leaderless = metadata.topics.find(
        (topic) =>
          topic.partitions.length === 0 || topic.partitions.some((partition) => partition.leader < 0),
      );
      if (leaderless === undefined) {
        const configs = await admin.describeConfigs({
          includeSynonyms: false,
          resources: topics.map((name) => ({
            type: TOPIC_RESOURCE,
            name,
            configNames: ['min.insync.replicas'],
          })),
        });
        const minInsync = new Map(
          configs.resources.map((resource) => [
            resource.resourceName,
            Number(
              resource.configEntries.find((entry) => entry.configName === 'min.insync.replicas')
                ?.configValue ?? 1,
            ),
          ]),
        );
        return metadata.topics.map((topic) => ({
          topic: topic.name,
          replicationFactor: Math.min(...topic.partitions.map((partition) => partition.replicas.length)),
          minInsyncReplicas: minInsync.get(topic.name) ?? 1,
        }));
      }
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
 * kafkajs's retries of one send: long enough to ride out a partition leader moving after its
 * broker died, which takes Kafka the broker session timeout (`broker.session.timeout.ms`, 9 s by
 * default) plus a controller election when that broker was the active controller (a few
 * seconds): 200 ms doubling to 3 s, 10 retries, about 21 s of waiting. Every field is set:
 * kafkajs takes the others from its defaults, which differ when NODE_ENV is `test`.
 */
export const PUBLISH_RETRY = {
  retries: 10,
  initialRetryTime: 200,
  maxRetryTime: 3_000,
  multiplier: 2,
  factor: 0.2,
} as const;

/** How old EventPublisher's list of partition leaders may be before it is read again. */
const LEADERS_MAX_AGE_MS = 10_000;

/**
 * Publishes events with an idempotent producer (no duplicates from producer retries,
 * order kept per partition). Returns only once the broker acknowledged every event
 * (`acks=all`: every in-sync replica has it, at least `min.insync.replicas`).
 *
 * What kafkajs 2.2.4 gets wrong when a broker dies, and what this class does about it
 * (tests/faults/ha-cluster.faults.ts, tests/integration/event-publisher-unknown-outcome.itest.ts):
 *
 * - **One send per partition leader.** kafkajs sends a batch to each partition leader in parallel
 *   and, when one of those requests fails, retries the batch while the others are still waiting
 *   for their acknowledgement (with `acks=all` they wait for the dead broker to leave the in-sync
 *   replicas: seconds). The retry queues another request for the same partitions behind the one
 *   in flight, with the next sequence numbers: when both succeed the events are on the topic
 *   twice (seen: 1 and 79 events doubled in two runs of the fault test), and when the first
 *   fails the sequence numbers no longer match the broker's (OUT_OF_ORDER_SEQUENCE_NUMBER, seen
 *   too). So each send here holds the partitions of one leader, as the cluster last reported
 *   them (read every 10 s and after a failed send), and the leaders' sends run in parallel: a
 *   failing leader's retries never overlap another request of their own send. (One send per
 *   partition would close the window a stale leader list leaves, at about half as much CPU
 *   again per event: 60-71 instead of 38-44 µs with 40-event batches over 6 partitions.)
 * - **Only acknowledged partitions count.** Within one send kafkajs remembers which brokers
 *   answered and, on a retry, sends only to the brokers that did not, though it maps partitions
 *   to leaders afresh each time: a partition whose leader moved to a broker that had already
 *   answered for its own partitions is never sent, and the send resolves all the same
 *   (`sendMessages.js`, `responsePerBroker`). 27 facts of one scheduler were lost that way when
 *   two of three brokers stopped (tests/faults/under-load.faults.ts, 2026-12-02). A partition
 *   missing from the answers fails the call here, so its events are sent again; the answered
 *   partitions' are not.
 * - **A new producer after a failed send.** A failed send's events may be stored all the same
 *   (the answer was lost, not the batch), and kafkajs takes their sequence numbers back: the old
 *   producer's next, larger batch on that partition starts at a sequence the broker already
 *   holds and is refused with OUT_OF_ORDER_SEQUENCE_NUMBER, which kafkajs never recovers from. The
 *   next send starts over with a new producer id (the Java producer bumps its epoch instead,
 *   KIP-360); an event the failed send had stored is then on the topic twice, with one id, and
 *   consumers drop the repeat.
 * - **Acknowledged events are not sent again.** A call that fails may have had some partitions
 *   acknowledged; the caller (the scheduler's spool, the outboxes) sends the whole batch again,
 *   and the events already acknowledged since the last call that succeeded are left out.
 */
export class EventPublisher {
  readonly #kafka: Kafka;
  readonly #topics: TopicNames;
  #producer: Producer;
  #connected = false;
  /** A send failed on this producer: the next one starts over. */
  #failed = false;
  /** Ids acknowledged by calls that failed on another partition since the last call that succeeded. */
  readonly #acknowledged = new Set<string>();
  /** Each topic's partition leaders (node ids, by partition), as the cluster last reported them. */
  readonly #leaders = new Map<string, readonly number[]>();
  #leadersReadAt = 0;
  readonly #partitionOf = Partitioners.DefaultPartitioner();

  constructor(kafka: Kafka, topics: TopicNames) {
    this.#kafka = kafka;
    this.#topics = topics;
    this.#producer = this.#createProducer();
  }

  #createProducer(): Producer {
    return this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      // Limited on purpose (kafkajs warns about it): a send that gives up is retried whole by
      // the caller (the scheduler's spool) with the same event ids, so order holds and a
      // repeat is dropped by consumers; unlimited retries would hide an outage from the caller.
      retry: PUBLISH_RETRY,
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
    if (this.#failed) await this.#startOver();
    await this.connect();
    const topicOfEvent = events.map((event) => topicOf(event, this.#topics));
    await this.#readLeaders(topicOfEvent);
    const sends = new Map<number, { topicMessages: Map<string, Message[]>; ids: Map<string, string[]> }>();
    for (const [index, event] of events.entries()) {
      if (this.#acknowledged.has(event.id)) continue;
      const topic = topicOfEvent[index] as string;
      const message = messages[index] as Message;
      const leaders = this.#leaders.get(topic) ?? [];
      // kafkajs's own partitioner, so an event goes where it always went (its key's partition).
      const partition = this.#partitionOf({
        topic,
        message,
        partitionMetadata: leaders.map((leader, partitionId) => ({
          partitionErrorCode: 0,
          partitionId,
          leader,
          replicas: [],
          isr: [],
        })),
      });
      const leader = leaders[partition] ?? -1;
      let send = sends.get(leader);
      if (send === undefined) sends.set(leader, (send = { topicMessages: new Map(), ids: new Map() }));
      let topicMessages = send.topicMessages.get(topic);
      if (topicMessages === undefined) send.topicMessages.set(topic, (topicMessages = []));
      topicMessages.push({ ...message, partition });
      const key = `${topic}/${partition}`;
      const ids = send.ids.get(key);
      if (ids === undefined) send.ids.set(key, [event.id]);
      else ids.push(event.id);
    }
    // Every send settles before the call does: none may still be in flight when the next call
    // (or a new producer) starts.
    const outcomes = await Promise.allSettled(
      [...sends.values()].map(async (send) => {
        const answers = await this.#producer.sendBatch({
          acks: -1,
          topicMessages: [...send.topicMessages].map(([topic, messages]) => ({ topic, messages })),
        });
        // Only what a broker acknowledged counts: kafkajs can resolve a send that wrote nothing
        // of a partition whose leader moved during its retries (see the class comment).
        const answered = new Set(
          answers
            .filter((answer) => answer.errorCode === 0)
            .map((answer) => `${answer.topicName}/${answer.partition}`),
        );
        const unanswered: string[] = [];
        for (const [key, ids] of send.ids) {
          if (!answered.has(key)) {
            unanswered.push(key);
            continue;
          }
          for (const id of ids) this.#acknowledged.add(id);
        }
        if (unanswered.length > 0)
          throw new Error(
            `Kafka acknowledged no write of ${unanswered.join(', ')}: kafkajs left them out of its ` +
              'retries while the leaders moved; they are sent again',
          );
      }),
    );
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure !== undefined) {
      this.#failed = true;
      throw failure.reason;
    }
    this.#acknowledged.clear();
  }

  /** Reads the topics' partition leaders when some are unknown or the last reading is 10 s old. */
  async #readLeaders(topics: readonly string[]): Promise<void> {
    const wanted = [...new Set(topics)];
    if (
      wanted.every((topic) => this.#leaders.has(topic)) &&
      Date.now() - this.#leadersReadAt < LEADERS_MAX_AGE_MS
    )
      return;
    const known = [...new Set([...this.#leaders.keys(), ...wanted])];
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: known });
      for (const topic of metadata.topics) {
        if (topic.partitions.length === 0) throw new Error(`topic ${topic.name} has no partitions yet`);
        const leaders: number[] = [];
        for (const partition of topic.partitions) leaders[partition.partitionId] = partition.leader;
        this.#leaders.set(topic.name, leaders);
      }
      this.#leadersReadAt = Date.now();
    } finally {
      await admin.disconnect();
    }
  }

  async #startOver(): Promise<void> {
    const failed = this.#producer;
    const wasConnected = this.#connected;
    this.#producer = this.#createProducer();
    this.#connected = false;
    this.#failed = false;
    this.#leadersReadAt = 0;
    // Nothing of its can be trusted any more; a disconnect that fails too changes nothing.
    if (wasConnected) await failed.disconnect().catch(() => undefined);
  }

  async disconnect(): Promise<void> {
    if (!this.#connected) return;
    this.#connected = false;
    await this.#producer.disconnect();
  }
}
