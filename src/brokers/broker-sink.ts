import type { EventSink } from "../emitters/sink.js";
import { AuditConfigError } from "../errors/index.js";
import { encodeEvent, eventToJson } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { Broker, BrokerMessage } from "./broker.js";
import {
  BROKER_CONTENT_TYPE,
  type BrokerEncoding,
  type CloudEventsHeaderPrefix,
  eventHeaders,
} from "./event-headers.js";

/** Options of `createBrokerSink`. */
export interface BrokerSinkOptions {
  /** The broker adapter to publish through (`createKafkaBroker`, `createNatsBroker`, or your own). */
  broker: Broker;
  /** Kafka topic or JetStream subject every event is published to. */
  topic: string;
  /** How the message value is encoded. Default: "protobuf" (`grpcaudit.v1.AuditEvent`, binary). */
  encoding?: BrokerEncoding;
  /**
   * The message key (Kafka partition key). Default: the event id, which spreads events evenly; return
   * a tenant or resource id to keep related events in order on one partition. When it throws or returns
   * an empty string, the event id is used, so one bad event never blocks delivery.
   */
  partitionKey?: (event: AuditEvent) => string;
  /**
   * Also send the CloudEvents 1.0 binary-mode headers (`specversion`, `id`, `source`, `type`, `time`,
   * `datacontenttype`). `true` uses the broker's binding prefix (`cloudEventsHeaderPrefix`: "ce_" for
   * Kafka, "ce-" for NATS; "ce_" when the broker does not say); `{ headerPrefix }` picks it. Default: false.
   */
  cloudEvents?: boolean | { headerPrefix: CloudEventsHeaderPrefix };
}

/**
 * Room left for headers when the event size limit is derived from the broker's message size: the
 * headers of an event with CloudEvents attributes and a service name of up to 100 characters fit.
 */
const HEADER_RESERVE_BYTES = 512;

const ENCODERS: Readonly<Record<BrokerEncoding, (event: AuditEvent) => Uint8Array>> = {
  protobuf: encodeEvent,
  json: (event) => Buffer.from(JSON.stringify(eventToJson(event)), "utf8"),
};

/**
 * Creates the EventSink that publishes audit events to a broker topic: one message per event, value =
 * the encoded event, key = the partition key, headers = content type, event id, event kind, schema
 * version and service (see `BROKER_HEADER`), plus the CloudEvents attributes when asked.
 *
 * `write` resolves only when the broker acknowledged the whole batch and rejects otherwise; the delivery
 * pipeline then retries the batch, so delivery is at-least-once and consumers de-duplicate by event id
 * (the NATS adapter also sets the JetStream message id to it, so the server drops republished copies).
 * `maxEventBytes` is the broker's `maxMessageBytes` less 512 bytes for headers.
 *
 * ```ts
 * const sink = createBrokerSink({ broker: createNatsBroker({ servers: "nats://127.0.0.1:4222" }), topic: "audit.events" });
 * await sink.write([event]);
 * ```
 */
export function createBrokerSink(options: BrokerSinkOptions): EventSink {
  const { broker, topic, encoding, partitionKey, cloudEventsPrefix } = resolveOptions(options);
  const encode = ENCODERS[encoding];
  const toMessage = (event: AuditEvent): BrokerMessage => ({
    key: messageKey(event, partitionKey),
    value: encode(event),
    headers: eventHeaders(event, encoding, cloudEventsPrefix),
  });
  const sink: EventSink = {
    name: `${broker.name}:${topic}`,
    write(batch, writeOptions) {
      let messages: BrokerMessage[];
      try {
        messages = batch.map(toMessage);
      } catch (error) {
        return Promise.reject(error);
      }
      return writeOptions?.signal === undefined
        ? broker.publish(topic, messages)
        : broker.publish(topic, messages, { signal: writeOptions.signal });
    },
    close: () => broker.close(),
  };
  const limit = broker.maxMessageBytes;
  if (limit === undefined) return Object.freeze(sink);
  return Object.freeze({ ...sink, maxEventBytes: Math.max(limit - HEADER_RESERVE_BYTES, 1) });
}

function messageKey(event: AuditEvent, partitionKey: ((event: AuditEvent) => string) | undefined): string {
  if (partitionKey === undefined) return event.eventId;
  try {
    const key = partitionKey(event);
    return typeof key === "string" && key !== "" ? key : event.eventId;
  } catch {
    // A key function that fails must not turn one event into a batch that is retried forever.
    return event.eventId;
  }
}

interface ResolvedOptions {
  broker: Broker;
  topic: string;
  encoding: BrokerEncoding;
  partitionKey: ((event: AuditEvent) => string) | undefined;
  cloudEventsPrefix: CloudEventsHeaderPrefix | undefined;
}

const PREFIXES: readonly unknown[] = ["ce_", "ce-"];

function resolveOptions(options: BrokerSinkOptions): ResolvedOptions {
  const { broker, topic, encoding = "protobuf", partitionKey, cloudEvents = false } = options;
  if (typeof broker !== "object" || broker === null || typeof broker.publish !== "function")
    throw new AuditConfigError("broker: a Broker (with publish and close) is required");
  if (typeof topic !== "string" || topic === "")
    throw new AuditConfigError("topic: a non-empty topic or subject is required");
  if (!Object.hasOwn(BROKER_CONTENT_TYPE, encoding))
    throw new AuditConfigError(`encoding: must be "protobuf" or "json", got ${JSON.stringify(encoding)}`);
  if (partitionKey !== undefined && typeof partitionKey !== "function")
    throw new AuditConfigError("partitionKey: must be a function of the event");
  return {
    broker,
    topic,
    encoding,
    partitionKey,
    cloudEventsPrefix: resolvePrefix(broker, cloudEvents),
  };
}

function resolvePrefix(
  broker: Broker,
  cloudEvents: boolean | { headerPrefix: CloudEventsHeaderPrefix },
): CloudEventsHeaderPrefix | undefined {
  if (cloudEvents === false) return undefined;
  if (cloudEvents === true) return broker.cloudEventsHeaderPrefix ?? "ce_";
  if (typeof cloudEvents === "object" && cloudEvents !== null && PREFIXES.includes(cloudEvents.headerPrefix))
    return cloudEvents.headerPrefix;
  throw new AuditConfigError('cloudEvents: must be true, false or { headerPrefix: "ce_" | "ce-" }');
}
