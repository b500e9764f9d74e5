/**
 * createKafkaBroker through the real `@platformatic/kafka` Producer, and read back by a real Consumer,
 * against a loopback stand-in that speaks the Kafka wire protocol (wire-broker/: no Kafka broker can
 * run here). The same shape as the opt-in kafka-broker.integration.test.ts, which needs KAFKA_BROKERS.
 */
import { Consumer, stringDeserializers } from "@platformatic/kafka";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { AuditEventTooLargeError } from "../../src/errors/index.js";
import { decodeEvent } from "../../src/event/serialize.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { DETAIL_KINDS, sampleEvent } from "../helpers/events.js";
import { startWireBroker, type WireBroker } from "./wire-broker/index.js";

const TOPIC = "audit-events";
let kafka: WireBroker;
beforeEach(async () => {
  kafka = await startWireBroker();
});
afterEach(async () => {
  await kafka.close();
});

interface ReadMessage {
  key: string;
  value: Buffer | undefined;
  headers: Map<string, string>;
}

/** The first `count` messages of the topic, read by a real Consumer in a new group. */
async function readBack(count: number): Promise<ReadMessage[]> {
  const consumer = new Consumer({
    groupId: `reader-${count}`,
    clientId: "grpc-audit-test-reader",
    bootstrapBrokers: kafka.bootstrapBrokers,
    deserializers: { ...stringDeserializers, value: (data?: Buffer) => data },
  });
  const read: ReadMessage[] = [];
  try {
    const stream = await consumer.consume({ topics: [TOPIC], mode: "earliest", maxWaitTime: 200 });
    for await (const message of stream) {
      read.push({ key: message.key, value: message.value, headers: message.headers });
      if (read.length === count) break;
    }
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return read;
}

describe("createKafkaBroker on the Kafka wire protocol (loopback stand-in broker)", () => {
  it("publishes an acknowledged event that a real consumer reads back with its headers", async () => {
    kafka.createTopic(TOPIC, { partitions: 3 });
    const broker = createKafkaBroker({ bootstrapBrokers: kafka.bootstrapBrokers, clientId: "projects-api" });
    const eventId = "019b7ca9-8f2e-7000-8000-000000000001";
    const event = sampleEvent({ eventId });
    await createBrokerSink({ broker, topic: TOPIC, cloudEvents: true }).write([event]);
    await broker.close();

    // On the broker: one record, keyed by the event id, from an idempotent producer.
    const stored = [0, 1, 2].flatMap((p) => kafka.records(TOPIC, p));
    expect(stored.map((r) => r.key?.toString())).toStrictEqual([eventId]);

    const read = await readBack(1);
    expect(read.map((m) => m.key)).toStrictEqual([eventId]);
    const [message] = read;
    expect(decodeEvent(message?.value ?? new Uint8Array())).toStrictEqual(event);
    expect(message?.headers.get("ce_id")).toBe(eventId);
    expect(message?.headers.get("grpc-audit-event-id")).toBe(eventId);
    expect(kafka.errors).toStrictEqual([]);
  });

  // zstd needs Node.js 22 in the client; the stand-in keeps compressed batches as sent.
  it.each(["gzip", "snappy", "lz4"] as const)(
    "publishes %s-compressed batches a real consumer reads back",
    async (compression) => {
      kafka.createTopic(TOPIC, { partitions: 1 });
      const broker = createKafkaBroker({
        bootstrapBrokers: kafka.bootstrapBrokers,
        clientId: "projects-api",
        compression,
      });
      const events = DETAIL_KINDS.map((kind, i) =>
        sampleEvent({ kind, eventId: `019b7ca9-8f2e-7000-8000-${String(i).padStart(12, "0")}` }),
      );
      await createBrokerSink({ broker, topic: TOPIC }).write(events);
      await broker.close();

      const read = await readBack(events.length);
      expect(read.map((m) => m.key)).toStrictEqual(events.map((e) => e.eventId));
      expect(read.map((m) => decodeEvent(m.value ?? new Uint8Array()))).toStrictEqual(events);
      expect(kafka.errors).toStrictEqual([]);
    },
  );

  it("sends a batch larger than maxRequestBytes in several produce requests, in order", async () => {
    kafka.createTopic(TOPIC, { partitions: 1 });
    const broker = createKafkaBroker({
      bootstrapBrokers: kafka.bootstrapBrokers,
      clientId: "projects-api",
      maxMessageBytes: 2048,
      maxRequestBytes: 4096,
    });
    const messages = Array.from({ length: 10 }, (_, i) => ({
      key: `e-${i}`,
      value: Buffer.alloc(1000, i),
      headers: { "grpc-audit-event-id": `e-${i}` },
    }));
    await broker.publish(TOPIC, messages);
    await broker.close();

    const stored = kafka.records(TOPIC, 0);
    expect(stored.map((r) => [r.offset, r.key?.toString()])).toStrictEqual(
      messages.map((m, i) => [BigInt(i), m.key]),
    );
    expect(stored.map((r) => r.headers)).toStrictEqual(
      messages.map((m) => [["grpc-audit-event-id", Buffer.from(m.key)]]),
    );
    expect(kafka.errors).toStrictEqual([]);
  });

  it("names the event Kafka refuses as MESSAGE_TOO_LARGE (the topic's limit), after sending the others", async () => {
    kafka.createTopic(TOPIC, { partitions: 1, maxMessageBytes: 4096 });
    const broker = createKafkaBroker({ bootstrapBrokers: kafka.bootstrapBrokers, clientId: "projects-api" });
    const message = (id: string, size: number) => ({
      key: id,
      value: Buffer.alloc(size),
      headers: { "grpc-audit-event-id": id },
    });
    const published = broker.publish(TOPIC, [message("e-1", 10), message("e-2", 8000), message("e-3", 10)]);
    await expect(published).rejects.toBeInstanceOf(AuditEventTooLargeError);
    await expect(published).rejects.toMatchObject({ eventIds: ["e-2"], emitter: "kafka" });
    // Which limit, and the sizes: the message's, and its record batch's as Kafka compares it.
    await expect(published).rejects.toThrow(
      'kafka: message for event e-2 is 8025 bytes, a record batch of 8097, refused by Kafka as too large (MESSAGE_TOO_LARGE) for topic "audit-events": ' +
        "over the topic's max.message.bytes (the broker's message.max.bytes unless the topic sets its own; Kafka does not say the limit), " +
        "though within this producer's maxMessageBytes (1000000); the other messages of the same request were sent one at a time, and Kafka stored them",
    );
    await broker.close();
    expect(kafka.records(TOPIC, 0).map((r) => r.key?.toString())).toStrictEqual(["e-1", "e-3"]);
    expect(kafka.errors).toStrictEqual([]);
  });

  it("names the record batch size Kafka compares: a batch of exactly max.message.bytes goes, one byte more is refused", async () => {
    kafka.createTopic(TOPIC, { partitions: 1, maxMessageBytes: 4096 });
    const broker = createKafkaBroker({ bootstrapBrokers: kafka.bootstrapBrokers, clientId: "projects-api" });
    const message = (id: string, size: number) => ({
      key: id,
      value: Buffer.alloc(size),
      headers: { "grpc-audit-event-id": id },
    });
    // 61 bytes of batch header, 2 of record length, 34 of record framing, key and header: 97 + value.
    await broker.publish(TOPIC, [message("e-1", 3999)]);
    const refused = broker.publish(TOPIC, [message("e-2", 4000)]);
    await expect(refused).rejects.toThrow(
      /^kafka: message for event e-2 is 4025 bytes, a record batch of 4097, refused by Kafka as too large/,
    );
    await broker.close();
    expect(kafka.records(TOPIC, 0).map((r) => r.key?.toString())).toStrictEqual(["e-1"]);
    expect(kafka.errors).toStrictEqual([]);
  });
});
