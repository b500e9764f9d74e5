import type { EncodedEvent, EventSink, SinkWriteOptions } from "../emitters/sink.js";
import { AuditConfigError } from "../errors/index.js";
import { shown } from "../errors/option-checks.js";
import { encodeEvent, eventToJson } from "../event/serialize.js";
import { peekFields } from "../event/wire-peek.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { Broker, BrokerMessage } from "./broker.js";
import {
  BROKER_CONTENT_TYPE,
  type BrokerEncoding,
  type CloudEventsHeaderPrefix,
  eventHeaders,
} from "./event-headers.js";

/** How the broker emitter turns events into messages: the options of `createBrokerEmitter` but `delivery`. */
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
 * headers of an event with CloudEvents attributes (and NATS's message id and expected stream headers)
 * and a service name of up to 200 characters fit.
 */
const HEADER_RESERVE_BYTES = 1024;

/**
 * The headers of a message without their service and event id values: names, content type, kind,
 * schema version, the CloudEvents attributes, NATS's framing and Nats-Expected-Stream (a stream name
 * of up to 100 characters). The service and the event id, unbounded, are counted per event.
 */
const HEADER_FIXED_BYTES = 512;

/**
 * How many times its protobuf size an event's JSON can take, plus a constant: field and enum names
 * cost the most (a tuple change holding only an operation is 4 bytes of protobuf and 40 of JSON; the
 * single top-level fields, such as `eventType`, add at most a few KiB), escaped control characters
 * less (1 byte becomes 6). The delivery pipeline measures events as protobuf, so the JSON limit is
 * derived from the message limit with both.
 */
const JSON_EXPANSION = 10;
const JSON_FIXED_BYTES = 4096;

const ENCODERS: Readonly<Record<BrokerEncoding, (event: AuditEvent) => Uint8Array>> = {
  protobuf: encodeEvent,
  json: (event) => Buffer.from(JSON.stringify(eventToJson(event)), "utf8"),
};

/**
 * Creates the EventSink that publishes audit events to a broker topic: one message per event, value =
 * the encoded event, key = the partition key, headers = content type, event id, event kind, schema
 * version and service (see `BROKER_HEADER`), plus the CloudEvents attributes when asked.
 *
 * `write` resolves only when the broker acknowledged the whole batch and rejects otherwise, with the
 * broker's error as it is; the delivery pipeline then retries the batch (only the rest of it when an
 * AuditPartialDeliveryError names events the broker took), so delivery is at-least-once and
 * consumers de-duplicate by event id (the NATS adapter also sets the JetStream message id to it, so
 * the server drops republished copies).
 * `maxEventBytes` (measured as protobuf, as the delivery pipeline does) is the broker's `maxMessageBytes`
 * less 1 KiB for headers; with JSON encoding, a tenth of that less 4 KiB, since JSON can take
 * up to ten times the bytes of protobuf, plus field names.
 *
 * `writeEncoded`, which the delivery pipeline calls, publishes the queued protobuf bytes as the message
 * value and reads the headers and the default key from them, so no event is decoded; only a
 * `partitionKey` function or JSON encoding decodes each event. Both write the same messages.
 *
 * ```ts
 * const sink = createBrokerSink({ broker: createNatsBroker({ servers: "nats://127.0.0.1:4222" }), topic: "audit.events" });
 * await sink.write([event]);
 * ```
 * @internal
 */
export function createBrokerSink(options: BrokerSinkOptions): EventSink {
  const { broker, topic, encoding, partitionKey, cloudEventsPrefix } = resolveOptions(options);
  const encode = ENCODERS[encoding];
  const toMessage = (event: AuditEvent): BrokerMessage => ({
    key: messageKey(event, partitionKey),
    value: encode(event),
    headers: eventHeaders(event, encoding, cloudEventsPrefix),
  });
  // Straight from the queued bytes: the value is the bytes when it is protobuf, and the headers and the
  // default key are read from them; only what needs the whole event decodes it.
  // (`encoded.event` decodes on access: never destructure it.)
  const fromEncoded = (encoded: EncodedEvent): BrokerMessage => {
    if (encoding !== "protobuf") return toMessage(encoded.event);
    const fields = peekFields(encoded.bytes, cloudEventsPrefix !== undefined);
    return {
      key: partitionKey === undefined ? fields.eventId : messageKey(encoded.event, partitionKey),
      value: encoded.bytes,
      headers: eventHeaders(fields, encoding, cloudEventsPrefix),
    };
  };
  const publish = <T>(batch: readonly T[], map: (item: T) => BrokerMessage, options?: SinkWriteOptions) => {
    let messages: BrokerMessage[];
    try {
      messages = batch.map(map);
    } catch (error) {
      return Promise.reject(error);
    }
    return options?.signal === undefined
      ? broker.publish(topic, messages)
      : broker.publish(topic, messages, { signal: options.signal });
  };
  const sink: EventSink = {
    name: `${broker.name}:${topic}`,
    write: (batch, writeOptions) => publish(batch, toMessage, writeOptions),
    writeEncoded: (batch, writeOptions) => publish(batch, fromEncoded, writeOptions),
    close: () => broker.close(),
  };
  const initialLimit = broker.maxMessageBytes;
  if (initialLimit === undefined) return Object.freeze(sink);
  const room = Math.max(initialLimit - HEADER_RESERVE_BYTES, 1);
  const maxEventBytes =
    encoding === "json" ? Math.max(Math.floor((room - JSON_FIXED_BYTES) / JSON_EXPANSION), 1) : room;
  const ids = cloudEventsPrefix === undefined ? 2 : 3; // the event id header, ce-id, message id or key
  const services = cloudEventsPrefix === undefined ? 1 : 2; // the service header, ce-source
  const valueBytes = (size: number) =>
    encoding === "json" ? size * JSON_EXPANSION + JSON_FIXED_BYTES : size;
  // The headers hold the service name and the event id, whose lengths have no bound: an event within
  // maxEventBytes can still make a message over the broker's limit, which it would refuse for ever.
  // One of the ids is the message key: a custom partitionKey's key instead, of any length.
  // The limit is read each time: a NATS server can come back with a smaller max_payload.
  const acceptsEvent = (event: AuditEvent, size: number): boolean => {
    const limit = broker.maxMessageBytes ?? initialLimit;
    const fixed = valueBytes(size) + HEADER_FIXED_BYTES;
    const service = event.service ?? "";
    const eventId = event.eventId ?? "";
    const key = partitionKey === undefined ? eventId : messageKey(event, partitionKey);
    // A UTF-16 code unit is at most 3 UTF-8 bytes: the bound settles almost every event at once.
    const units = services * service.length + (ids - 1) * eventId.length + key.length;
    if (fixed + 3 * units <= limit) return true;
    const bytes =
      services * Buffer.byteLength(service) + (ids - 1) * Buffer.byteLength(eventId) + Buffer.byteLength(key);
    return fixed + bytes <= limit;
  };
  return Object.freeze({ ...sink, maxEventBytes, acceptsEvent });
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

/** What the sink's errors start with: the factory users call. */
const LABEL = "broker emitter";

function resolveOptions(options: BrokerSinkOptions): ResolvedOptions {
  const { broker, topic, encoding = "protobuf", partitionKey, cloudEvents = false } = options;
  if (typeof broker !== "object" || broker === null || typeof broker.publish !== "function")
    throw new AuditConfigError(`${LABEL}: \`broker\` must be a Broker (with publish and close)`);
  if (typeof topic !== "string" || topic === "")
    throw new AuditConfigError(`${LABEL}: \`topic\` must be a non-empty topic or subject`);
  if (!Object.hasOwn(BROKER_CONTENT_TYPE, encoding))
    throw new AuditConfigError(`${LABEL}: \`encoding\` must be "protobuf" or "json", got ${shown(encoding)}`);
  if (partitionKey !== undefined && typeof partitionKey !== "function")
    throw new AuditConfigError(`${LABEL}: \`partitionKey\` must be a function of the event`);
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
  throw new AuditConfigError(
    `${LABEL}: \`cloudEvents\` must be true, false or { headerPrefix: "ce_" | "ce-" }`,
  );
}
