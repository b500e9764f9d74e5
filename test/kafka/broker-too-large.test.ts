/**
 * Kafka refuses a message as too large (MESSAGE_TOO_LARGE) when the topic's max.message.bytes is
 * below the broker adapter's maxMessageBytes: the sink's size check let the event through, and the
 * adapter rejected the batch with a plain AuditEmitError, so the delivery pipeline retried it for
 * ever and the events after it never went. The adapter now finds which messages Kafka refuses (one
 * at a time) and throws an AuditEventTooLargeError naming them; the pipeline drops and counts those
 * as too_large and writes the rest. Uses a fake producer at the client boundary that refuses as
 * `@platformatic/kafka` reports it (a ResponseError holding code 10).
 */
import { ResponseError, type SendOptions } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { AuditEventTooLargeError } from "../../src/errors/index.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { sampleEvent } from "../helpers/events.js";

/** The topic's max.message.bytes, far below the adapter's default maxMessageBytes (1000000). */
const TOPIC_LIMIT = 4096;

type Send = SendOptions<Buffer, Buffer, Buffer, Buffer>;

function recordBytes(message: Send["messages"][number]): number {
  let bytes = (message.key?.length ?? 0) + (message.value?.length ?? 0);
  for (const [k, v] of (message.headers ?? new Map()) as Map<Buffer, Buffer>) bytes += k.length + v.length;
  return bytes;
}

/** A Kafka broker whose producer stores what fits the topic and refuses a send holding a larger message. */
function kafkaWithTopicLimit(options: { compression?: "gzip" } = {}) {
  const stored: string[] = [];
  const sends: number[] = [];
  const broker = createKafkaBroker({
    bootstrapBrokers: ["kafka-1:9092"],
    clientId: "projects-api",
    ...options,
    createProducer: () => ({
      send: async (send: Send) => {
        sends.push(send.messages.length);
        if (send.messages.some((m) => recordBytes(m) > TOPIC_LIMIT))
          throw new ResponseError(0, 9, { "/topics/0/partitions/0": [10, null] }, {});
        stored.push(...send.messages.map((m) => m.key?.toString() ?? ""));
        return {};
      },
      close: async () => {},
    }),
  });
  return { broker, stored, sends };
}

describe("Kafka broker: a message the topic refuses as too large", () => {
  it("names the refused event in an AuditEventTooLargeError, after sending the others of its batch", async () => {
    const { broker, stored } = kafkaWithTopicLimit();
    const [first, large, last] = [
      sampleEvent({ kind: "authn", eventId: "e-1" }),
      sampleEvent({ kind: "authz", eventId: "e-2", operation: "o".repeat(TOPIC_LIMIT) }),
      sampleEvent({ kind: "authn", eventId: "e-3" }),
    ];
    const message = (event: typeof first) => ({
      key: event.eventId,
      value: Buffer.from(event.operation.padEnd(10, "x")),
      headers: { "grpc-audit-event-id": event.eventId },
    });
    const published = broker.publish("audit-events", [message(first), message(large), message(last)]);
    await expect(published).rejects.toBeInstanceOf(AuditEventTooLargeError);
    await expect(published).rejects.toMatchObject({ eventIds: ["e-2"], emitter: "kafka" });
    expect(stored).toStrictEqual(["e-1", "e-3"]);
  });

  it("says which limit refused it, and the message's and its record batch's sizes", async () => {
    const { broker } = kafkaWithTopicLimit();
    const published = broker.publish("audit-events", [
      { key: "e-2", value: Buffer.alloc(TOPIC_LIMIT), headers: { "grpc-audit-event-id": "e-2" } },
    ]);
    // key 3 + value 4096 + header 22; the batch adds 61 of header, 2 of record length, 9 of framing.
    await expect(published).rejects.toThrow(
      'kafka: message for event e-2 is 4121 bytes, a record batch of 4193, refused by Kafka as too large (MESSAGE_TOO_LARGE) for topic "audit-events": ' +
        "over the topic's max.message.bytes (the broker's message.max.bytes unless the topic sets its own; Kafka does not say the limit), " +
        "though within this producer's maxMessageBytes (1000000)",
    );
  });

  it("gives no record batch size when compressed (only the codec knows it), and lists each refused message", async () => {
    const { broker, stored } = kafkaWithTopicLimit({ compression: "gzip" });
    const message = (id: string, size: number) => ({
      key: id,
      value: Buffer.alloc(size),
      headers: { "grpc-audit-event-id": id },
    });
    const published = broker.publish("audit-events", [
      message("e-1", TOPIC_LIMIT),
      message("e-2", 10),
      message("e-3", TOPIC_LIMIT + 1),
    ]);
    await expect(published).rejects.toThrow(
      'kafka: messages for events e-1 (4121 bytes), e-3 (4122 bytes) are refused by Kafka as too large (MESSAGE_TOO_LARGE) for topic "audit-events": ',
    );
    await expect(published).rejects.toMatchObject({ eventIds: ["e-1", "e-3"] });
    expect(stored).toStrictEqual(["e-2"]);
  });

  it("names every message over its own maxMessageBytes in an AuditEventTooLargeError, sending none", async () => {
    const sends: Send[] = [];
    const broker = createKafkaBroker({
      bootstrapBrokers: ["kafka-1:9092"],
      clientId: "projects-api",
      maxMessageBytes: TOPIC_LIMIT,
      createProducer: () => ({
        send: async (send: Send) => {
          sends.push(send);
          return {};
        },
        close: async () => {},
      }),
    });
    const message = (id: string, size: number) => ({
      key: id,
      value: Buffer.alloc(size),
      headers: { "grpc-audit-event-id": id },
    });
    const published = broker.publish("audit-events", [
      message("e-1", 10),
      message("e-2", TOPIC_LIMIT),
      message("e-3", 10),
      message("e-4", TOPIC_LIMIT + 1),
    ]);
    await expect(published).rejects.toBeInstanceOf(AuditEventTooLargeError);
    await expect(published).rejects.toMatchObject({ eventIds: ["e-2", "e-4"] });
    expect(sends).toStrictEqual([]);
  });

  it("is dropped by the delivery emitter as too_large, and the rest of its batch is delivered", async () => {
    const { broker, stored } = kafkaWithTopicLimit();
    const errors: Error[] = [];
    const emitter = createBrokerEmitter({
      broker,
      topic: "audit-events",
      delivery: { retry: { initialDelayMs: 5, maxDelayMs: 20 }, onError: (e) => errors.push(e) },
    });
    const events = [
      sampleEvent({ kind: "authn", eventId: "e-1" }),
      sampleEvent({ kind: "authz", eventId: "e-2", operation: "o".repeat(TOPIC_LIMIT) }),
      sampleEvent({ kind: "authn", eventId: "e-3" }),
    ];
    expect(events.map((e) => emitter.emit(e))).toStrictEqual(["accepted", "accepted", "accepted"]);
    const flushed = await emitter.flush({ timeoutMs: 2000 });
    await emitter.close({ timeoutMs: 100 });

    expect(flushed).toMatchObject({
      ok: false,
      results: [
        {
          status: "error",
          error: expect.objectContaining({
            message: "kafka:audit-events: flush dropped 1 event (too_large 1)",
          }),
        },
      ],
      pending: 0,
    });
    // At least once: sent one by one to find the refused one, then again as the batch left.
    expect(new Set(stored)).toStrictEqual(new Set(["e-1", "e-3"]));
    expect(emitter.stats()).toMatchObject({
      dropped: { too_large: 1 },
      droppedByReasonAndKind: { too_large: { "authz.decision": 1 } },
      delivered: 2,
      retried: 0,
    });
  }, 10_000);
});
