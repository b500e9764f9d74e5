import { type MessageToProduce, ProduceAcks } from "@platformatic/kafka";
import type { Broker, BrokerMessage } from "../brokers/broker.js";
import { createPublishTracker, untilAborted } from "../brokers/publish-tracker.js";
import { AuditEmitError, AuditEventTooLargeError, AuditPartialDeliveryError } from "../errors/index.js";
import { guardConnections, releaseConnections } from "./guard-connections.js";
import { type KafkaBrokerOptions, producerOptions, resolveBrokerOptions } from "./kafka-broker-options.js";
import { kafkaErrorText, refusedProducerState } from "./kafka-error-text.js";
import {
  kafkaLimitRefusal,
  RECORD_BATCH_OVERHEAD,
  recordBytes,
  recordFieldBytes,
  refusedAsTooLarge,
  singleRecordBatchBytes,
} from "./too-large.js";

export type { KafkaBrokerOptions, KafkaCompression, KafkaProducer } from "./kafka-broker-options.js";

/** A Broker publishing to Kafka through an idempotent `@platformatic/kafka` producer. */
export interface KafkaBroker extends Broker {
  /** Largest message (key, value and headers) it sends, in bytes: `maxMessageBytes` (default: 1000000). */
  readonly maxMessageBytes: number;
  /** CloudEvents headers on Kafka use the "ce_" prefix. */
  readonly cloudEventsHeaderPrefix: "ce_";
}

/**
 * Creates a Broker that sends each batch with `@platformatic/kafka` (1.x): an idempotent producer
 * whose writes are acknowledged by all in-sync replicas (`acks: -1`), so `publish` resolves only once the
 * batch is replicated. Keys, values and header values are sent as given (UTF-8 for strings). The client
 * retries a failed request 3 times; then `publish` rejects, naming Kafka's error codes, and the
 * delivery pipeline retries the batch, which can store a message twice: consumers de-duplicate by the
 * `grpc-audit-event-id` header. Messages of a failed publish that Kafka acknowledged are named by its
 * error (an AuditPartialDeliveryError: the pipeline counts them delivered and retries only the rest),
 * and left out of the next publish to the same topic (the rest of a batch after events too large were
 * dropped). Requests go one at a time, in the order of the publishes (a publish's
 * requests together), even when the pipeline writes several batches at once (`maxInFlightBatches`,
 * which so sends no faster): a request sent before the one before it settled would reuse its sequence
 * numbers. A publish abandoned at the pipeline's write timeout sends nothing if its turn had not come,
 * else its request is waited for (until answered or the client gives up, `timeoutMs` a try). A
 * producer whose sequence Kafka refuses is replaced by a new one. The producer connects on the first
 * publish.
 *
 * ```ts
 * const broker = createKafkaBroker({ bootstrapBrokers: ["kafka-1:9092"], clientId: "projects-api", compression: "zstd" });
 * const emitter = createBrokerEmitter({ broker, topic: "audit-events", cloudEvents: true });
 * ```
 */
export function createKafkaBroker(options: KafkaBrokerOptions): KafkaBroker {
  const resolved = resolveBrokerOptions(options);
  const { name, compression, maxMessageBytes, maxRequestBytes } = resolved;
  const createProducer = () =>
    guardConnections(resolved.createProducer(producerOptions(options, compression)));
  let producer = createProducer();
  const tracker = createPublishTracker(name);
  // The producer numbers a partition's batches (idempotence) when one is acknowledged: a send started
  // before the last one settled (concurrent publishes, or one abandoned at a write timeout that Kafka
  // still answers) reuses its sequence numbers, and Kafka takes it for a repeat (not stored) or refuses
  // it as out of order. So publishes queue here: each starts once the one before it settled.
  let lastSend: Promise<unknown> = Promise.resolve();
  // Once Kafka refuses the producer's sequence (a request it stored was not answered, and the batch
  // sent again starts elsewhere), every later send of that producer fails: a new one gets a new
  // producer id. The next send waits for the old one to close.
  let retiring: Promise<void> = Promise.resolve();
  const replaceProducer = () => {
    const old = producer;
    producer = createProducer();
    retiring = old
      .close()
      .catch(() => {})
      .finally(() => releaseConnections(old));
  };

  // Events of the last publish that failed which Kafka stored all the same (requests before the
  // failing one, messages sent one at a time around one too large): the pipeline writes the batch
  // again, and these are skipped if that is the next publish, instead of stored twice.
  let storedOfFailed: { topic: string; ids: Set<string> } | undefined;
  /**
   * The records to send: those of the last failed publish Kafka stored are left out, once, and their
   * event ids added to `progress.stored` (they are stored whatever happens to the rest).
   */
  const notStored = (topic: string, records: readonly KafkaRecord[], progress: { stored: string[] }) => {
    const stored = storedOfFailed;
    storedOfFailed = undefined;
    if (stored?.topic !== topic) return records;
    return records.filter((record) => {
      const left = record.eventId === undefined || !stored.ids.has(record.eventId);
      if (!left && record.eventId !== undefined) progress.stored.push(record.eventId);
      return left;
    });
  };

  const send = async (topic: string, messages: readonly BrokerMessage[], signal?: AbortSignal) => {
    signal?.throwIfAborted();
    const records = messages.map((message) => toRecord(topic, message));
    const over = records.filter((record) => record.bytes > maxMessageBytes);
    if (over.length > 0)
      throw tooLarge(over, {
        name,
        why: `over this producer's maxMessageBytes (${maxMessageBytes}); nothing of this batch was sent`,
      });
    const progress = { sent: 0, of: records.length, stored: [] as string[] };
    // Takes its place in the queue now, in the order of the calls: its requests go after those of
    // every earlier publish settled, an abandoned one's included; none if it is abandoned before its turn.
    const turn = lastSend.then(async () => {
      await retiring;
      try {
        const left = notStored(topic, records, progress);
        progress.of = left.length;
        await sendRecords(topic, left, progress, signal);
      } catch (error) {
        storedOfFailed = { topic, ids: new Set(progress.stored) };
        throw error;
      }
    });
    lastSend = turn.catch(() => {});
    try {
      await (signal === undefined ? turn : Promise.race([turn, untilAborted(signal)]));
      signal?.throwIfAborted();
    } catch (error) {
      if (error instanceof AuditEmitError) throw error;
      throw sendError(name, topic, error, progress);
    }
  };

  /** Sends a publish's records, one request after the other; stops before a request once aborted. */
  const sendRecords = async (
    topic: string,
    records: readonly KafkaRecord[],
    progress: { sent: number; stored: string[] },
    signal?: AbortSignal,
  ) => {
    const sendChunk = async (chunk: readonly KafkaRecord[]) => {
      signal?.throwIfAborted();
      await producer.send({
        messages: chunk.map((record) => record.message),
        acks: ProduceAcks.ALL,
        idempotent: true,
        compression,
      });
      for (const record of chunk) if (record.eventId !== undefined) progress.stored.push(record.eventId);
    };
    /** The error of a failed request, after `sent` of the publish's messages went. */
    const failed = (error: unknown, sent: number) => {
      if (refusedProducerState(error)) replaceProducer();
      return sendError(name, topic, error, { sent, of: records.length, stored: progress.stored });
    };
    for (const chunk of chunks(records, maxRequestBytes)) {
      try {
        await sendChunk(chunk);
      } catch (error) {
        if (signal?.aborted === true || !refusedAsTooLarge(error)) throw failed(error, progress.sent);
        // The topic or broker takes less than maxMessageBytes (max.message.bytes), or the chunk's
        // record batch as a whole was over it: one message at a time tells which can never go.
        await sendAlone(
          chunk,
          sendChunk,
          {
            name,
            why: kafkaLimitRefusal(topic, maxMessageBytes),
            // Compressed, the batch Kafka compares is smaller, by how much only the codec knows.
            showBatchBytes: compression === "none",
          },
          (error, sent) => failed(error, progress.sent + sent),
        );
      }
      progress.sent += chunk.length;
    }
  };

  return {
    name,
    maxMessageBytes,
    cloudEventsHeaderPrefix: "ce_",
    publish: (topic, messages, publishOptions) =>
      tracker.run(() => send(topic, messages, publishOptions?.signal)),
    close: () =>
      tracker.close(async () => {
        try {
          await Promise.all([retiring, producer.close()]);
        } finally {
          releaseConnections(producer);
        }
      }),
  };
}

/**
 * The error of a failed send; an AuditPartialDeliveryError naming the events Kafka acknowledged
 * (`stored`) when there are some, so that the pipeline counts them delivered and retries only the others.
 */
function sendError(
  name: string,
  topic: string,
  cause: unknown,
  progress: { sent: number; of: number; stored: readonly string[] },
): AuditEmitError {
  const { sent, of, stored } = progress;
  const message = `send to "${topic}" failed after ${sent} of ${of} messages: ${kafkaErrorText(cause)}`;
  return stored.length === 0
    ? new AuditEmitError(name, message, { cause })
    : new AuditPartialDeliveryError(name, message, { deliveredEventIds: stored, cause });
}

interface KafkaRecord {
  /** The event id, else the key, to name the record in errors. */
  id: string;
  /** The `grpc-audit-event-id` header: a message without one is never taken for another. */
  eventId: string | undefined;
  message: MessageToProduce<Buffer, Buffer, Buffer, Buffer>;
  /** Key, value and headers. */
  bytes: number;
  /** The uncompressed record batch holding only this message. */
  batchBytes: number;
  /** Key, value and headers as a record batch holds them (`recordFieldBytes`). */
  fieldBytes: number;
}

function toRecord(topic: string, message: BrokerMessage): KafkaRecord {
  const key = Buffer.from(message.key, "utf8");
  const value = Buffer.from(message.value.buffer, message.value.byteOffset, message.value.byteLength);
  const headers = new Map<Buffer, Buffer>();
  let bytes = key.length + value.length;
  for (const [name, text] of Object.entries(message.headers)) {
    const headerKey = Buffer.from(name, "utf8");
    const headerValue = Buffer.from(text, "utf8");
    headers.set(headerKey, headerValue);
    bytes += headerKey.length + headerValue.length;
  }
  const eventId = message.headers["grpc-audit-event-id"];
  const id = eventId ?? message.key;
  const fields = { key, value, headers };
  return {
    id,
    eventId,
    message: { topic, ...fields },
    bytes,
    batchBytes: singleRecordBatchBytes(fields),
    fieldBytes: recordFieldBytes(fields),
  };
}

/**
 * Consecutive runs of records whose uncompressed record batch is at most `maxBytes` (a larger record
 * goes alone). Each record counts as Kafka encodes it in a batch (its length, attributes, deltas and
 * the varint lengths of its fields), so a batch of many small messages stays under the broker's
 * `max.message.bytes` too; counted as if all went to one partition, which no partition's batch exceeds.
 */
function* chunks(records: readonly KafkaRecord[], maxBytes: number): Generator<KafkaRecord[]> {
  let chunk: KafkaRecord[] = [];
  let bytes = RECORD_BATCH_OVERHEAD;
  for (const record of records) {
    if (chunk.length > 0 && bytes + recordBytes(record.fieldBytes, chunk.length) > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = RECORD_BATCH_OVERHEAD;
    }
    bytes += recordBytes(record.fieldBytes, chunk.length);
    chunk.push(record);
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * Sends the records of a chunk Kafka refused as too large one by one; throws an
 * AuditEventTooLargeError naming those Kafka refuses alone, after the others were sent. Another
 * failure throws `failed(error, sent)`, `sent` the chunk's records sent before it.
 */
async function sendAlone(
  chunk: readonly KafkaRecord[],
  sendChunk: (chunk: readonly KafkaRecord[]) => Promise<void>,
  refusal: TooLarge,
  failed: (error: unknown, sent: number) => Error,
): Promise<void> {
  const refused: KafkaRecord[] = [];
  let sent = 0;
  let cause: unknown;
  for (const record of chunk) {
    try {
      await sendChunk([record]);
      sent++;
    } catch (error) {
      if (!refusedAsTooLarge(error)) throw failed(error, sent);
      refused.push(record);
      cause = error;
    }
  }
  if (refused.length === 0) return;
  // Each of the others was acknowledged by all in-sync replicas (acks -1): Kafka stored it.
  const others =
    chunk.length > refused.length
      ? "; the other messages of the same request were sent one at a time, and Kafka stored them"
      : "";
  throw tooLarge(refused, { ...refusal, why: `${refusal.why}${others}`, cause });
}

/** Why messages can never go, for `tooLarge`. */
interface TooLarge {
  /** The broker's name. */
  name: string;
  /** Which limit they are over. */
  why: string;
  cause?: unknown;
  /** Whether to give the size of the record batch Kafka compared with its limit (known uncompressed). */
  showBatchBytes?: boolean;
}

/** The error naming `records`, their sizes (key, value and headers) and the limit they are over. */
function tooLarge(records: readonly KafkaRecord[], { name, why, cause, showBatchBytes }: TooLarge) {
  const size = (record: KafkaRecord) =>
    `${record.bytes} bytes${showBatchBytes === true ? `, a record batch of ${record.batchBytes}` : ""}`;
  const [one] = records;
  const which =
    records.length === 1 && one !== undefined
      ? `message for event ${one.id} is ${size(one)},`
      : `messages for events ${records.map((r) => `${r.id} (${size(r)})`).join(", ")} are`;
  return new AuditEventTooLargeError(name, `${which} ${why}`, {
    eventIds: records.map((record) => record.id),
    ...(cause === undefined ? {} : { cause }),
  });
}
