/**
 * createKafkaSource and createIngester into a real SQLite store, through the real `@platformatic/kafka`
 * Consumer and Producer, against a loopback stand-in that speaks the Kafka wire protocol (wire-broker/:
 * no Kafka broker can run here). The same shape as the opt-in kafka-source.integration.test.ts, which
 * needs KAFKA_BROKERS; the committed offsets are read from the stand-in's group state (what OffsetFetch
 * answers).
 */
import { join } from "node:path";
import { Producer } from "@platformatic/kafka";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BrokerEncoding } from "../../src/brokers/event-headers.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createIngester } from "../../src/ingest/index.js";
import {
  createKafkaSource,
  DEAD_LETTER_FROM_HEADER,
  DEAD_LETTER_REASON_HEADER,
} from "../../src/kafka/index.js";
import { type AuditStore, openAuditStore } from "../../src/store/index.js";
import { seedEvents, tempDir } from "../cli/helpers.js";
import { until } from "../ingest/fleet.js";
import { ErrorCode } from "./wire-broker/error-codes.js";
import { startWireBroker, type WireBroker } from "./wire-broker/index.js";
import { publishToWire } from "./wire-publish.js";

const TOPIC = "audit-events";
const GROUP = "ingest";
let kafka: WireBroker;
let store: AuditStore;
beforeEach(async () => {
  kafka = await startWireBroker();
  store = openAuditStore({ path: join(tempDir(), "kafka.db") });
});
afterEach(async () => {
  store.close();
  await kafka.close();
});

const publish = (events: readonly AuditEvent[], encoding?: BrokerEncoding) =>
  publishToWire(kafka, TOPIC, events, encoding);

const highWatermarks = () => kafka.state.topics.get(TOPIC)?.partitions.map((p) => p.highWatermark) ?? [];
const committed = () => {
  const offsets = kafka.committed(GROUP, TOPIC);
  return highWatermarks().map((_, p) => offsets.get(p)?.offset ?? -1n);
};
const storedIds = () => new Set(store.query({}, { limit: 1000 }).events.map((e) => e.eventId));

describe("createKafkaSource on the Kafka wire protocol (loopback stand-in broker)", () => {
  it("stores every event of 3 partitions once, commits every partition's end, dead-letters a poison message", async () => {
    kafka.createTopic(TOPIC, { partitions: 3 });
    // The dead-letter topic is created on demand (the source's producer asks for it in Metadata).
    const events = seedEvents(300);
    await publish(events.slice(0, 150));
    const producer = new Producer({ clientId: "poison", bootstrapBrokers: kafka.bootstrapBrokers });
    await producer.send({
      messages: [
        {
          topic: TOPIC,
          partition: 1,
          key: Buffer.from("poison"),
          value: Buffer.from("hello"),
          headers: new Map([[Buffer.from("content-type"), Buffer.from("text/plain")]]),
        },
      ],
    });
    await producer.close();
    await publish(events.slice(150), "json");

    const source = await createKafkaSource({
      bootstrapBrokers: kafka.bootstrapBrokers,
      topic: TOPIC,
      groupId: GROUP,
    });
    const ingester = createIngester({ source, store, batchSize: 64 });
    try {
      await until(
        () => ingester.stats().inserted === events.length && ingester.stats().deadLettered === 1,
        "every event",
      );
      await until(() => committed().join() === highWatermarks().join(), "every partition committed");
      await until(() => source.lag() === 0, "no lag once committed");
    } finally {
      await ingester.stop();
      await source.close();
    }
    expect(ingester.stats()).toMatchObject({ inserted: events.length, deadLettered: 1, errors: 0 });
    expect(storedIds()).toStrictEqual(new Set(events.map((e) => e.eventId)));
    // Every message of the topic is on the broker once: 300 events and the poison message.
    expect(highWatermarks().reduce((a, b) => a + b)).toBe(301n);
    expect(committed()).toStrictEqual(highWatermarks());
    const poison = kafka.records(TOPIC, 1).find((r) => r.key?.toString() === "poison");
    const deadLetters = kafka.records(`${TOPIC}.dead-letter`, 0).map((r) => ({
      key: r.key?.toString(),
      value: r.value?.toString(),
      headers: r.headers.map(([k, v]) => [k, v?.toString()]),
    }));
    expect(deadLetters).toStrictEqual([
      {
        key: "poison",
        value: "hello",
        headers: [
          ["content-type", "text/plain"],
          [DEAD_LETTER_REASON_HEADER, 'unknown content-type "text/plain"'],
          [DEAD_LETTER_FROM_HEADER, `${TOPIC}/1@${poison?.offset}`],
        ],
      },
    ]);
    // The member left the group on close.
    expect(kafka.state.coordinator.group(GROUP).members.size).toBe(0);
    expect(kafka.errors).toStrictEqual([]);
  }, 60_000);

  it("names Kafka's error code when the dead-letter topic refuses a poison message, then sends it once allowed", async () => {
    kafka.createTopic(TOPIC, { partitions: 1 });
    const producer = new Producer({ clientId: "poison", bootstrapBrokers: kafka.bootstrapBrokers });
    await producer.send({
      messages: [{ topic: TOPIC, key: Buffer.from("poison"), value: Buffer.from("hello") }],
    });
    await producer.close();
    let refusing = true;
    kafka.state.produceFault = () =>
      refusing ? { kind: "error", errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED } : undefined;
    const source = await createKafkaSource({
      bootstrapBrokers: kafka.bootstrapBrokers,
      topic: TOPIC,
      groupId: GROUP,
    });
    const errors: string[] = [];
    const ingester = createIngester({
      source,
      store,
      retryDelayMs: 10,
      onError: (e) => errors.push(e.message),
    });
    try {
      await until(() => errors.length > 0, "the refusal reported");
      refusing = false;
      await until(() => ingester.stats().deadLettered === 1, "the dead letter sent");
    } finally {
      await ingester.stop();
      await source.close();
    }
    expect(errors[0]).toBe(`dead letter to "${TOPIC}.dead-letter" failed: TOPIC_AUTHORIZATION_FAILED`);
    expect(kafka.records(`${TOPIC}.dead-letter`, 0).map((r) => r.key?.toString())).toStrictEqual(["poison"]);
  }, 60_000);

  it("a second member of the group shares the partitions; together they store each event once", async () => {
    kafka.createTopic(TOPIC, { partitions: 4 });
    const events = seedEvents(200);
    await publish(events.slice(0, 100));
    const open = (batchSize: number) =>
      createKafkaSource({ bootstrapBrokers: kafka.bootstrapBrokers, topic: TOPIC, groupId: GROUP }).then(
        (source) => ({ source, ingester: createIngester({ source, store, batchSize }) }),
      );
    const first = await open(10);
    await until(() => first.ingester.stats().inserted >= 20, "the first member storing");
    const second = await open(10);
    await publish(events.slice(100));
    try {
      await until(() => storedIds().size === events.length, "every event");
      await until(() => committed().join() === highWatermarks().join(), "every partition committed");
    } finally {
      for (const m of [first, second]) {
        await m.ingester.stop();
        await m.source.close();
      }
    }
    expect(storedIds()).toStrictEqual(new Set(events.map((e) => e.eventId)));
    expect(first.ingester.stats().inserted + second.ingester.stats().inserted).toBe(events.length);
    expect(second.ingester.stats().inserted).toBeGreaterThan(0);
    expect(kafka.state.coordinator.group(GROUP).generationId).toBeGreaterThanOrEqual(2);
    expect(kafka.errors).toStrictEqual([]);
  }, 60_000);
});
