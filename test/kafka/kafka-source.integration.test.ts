/**
 * Opt-in: ingests through a real Kafka cluster when KAFKA_BROKERS lists its bootstrap brokers
 * ("host:port,host:port"). It creates a fresh topic of 3 partitions (and its dead-letter topic), so the
 * cluster must allow topic creation. Without KAFKA_BROKERS the test is reported as skipped.
 */
import { join } from "node:path";
import { Admin, Consumer, Producer, stringDeserializers } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { createIngester } from "../../src/ingest/index.js";
import { createKafkaBroker, createKafkaSource, DEAD_LETTER_REASON_HEADER } from "../../src/kafka/index.js";
import { openAuditStore } from "../../src/store/index.js";
import { seedEvents, tempDir } from "../cli/helpers.js";
import { until } from "../ingest/fleet.js";

const brokers = process.env.KAFKA_BROKERS?.split(",").filter((b) => b !== "") ?? [];

describe("createKafkaSource against a real cluster", () => {
  it.skipIf(!process.env.KAFKA_BROKERS)(
    "stores every event of a fresh topic once, commits every partition's end, dead-letters a poison message (needs KAFKA_BROKERS=host:port, else skipped)",
    async () => {
      const topic = `grpc-audit-ingest-${Date.now()}`;
      const admin = new Admin({ clientId: "grpc-audit-test-admin", bootstrapBrokers: brokers });
      await admin.createTopics({ topics: [topic, `${topic}.dead-letter`], partitions: 3, replicas: 1 });
      const events = seedEvents(300);
      const broker = createKafkaBroker({ bootstrapBrokers: brokers, clientId: "grpc-audit-test" });
      await createBrokerSink({ broker, topic }).write(events.slice(0, 150));
      const producer = new Producer({ clientId: "grpc-audit-test-poison", bootstrapBrokers: brokers });
      await producer.send({
        messages: [
          {
            topic,
            key: Buffer.from("poison"),
            value: Buffer.from("hello"),
            headers: new Map([[Buffer.from("content-type"), Buffer.from("text/plain")]]),
          },
        ],
      });
      await producer.close();
      await createBrokerSink({ broker, topic, encoding: "json" }).write(events.slice(150));
      await broker.close();

      const store = openAuditStore({ path: join(tempDir(), "kafka.db") });
      const source = await createKafkaSource({
        bootstrapBrokers: brokers,
        topic,
        groupId: `${topic}-ingest`,
      });
      const ingester = createIngester({ source, store, batchSize: 64 });
      try {
        await until(
          () => ingester.stats().inserted === events.length && ingester.stats().deadLettered === 1,
          "every event",
        );
        await until(() => source.lag() === 0, "no lag once committed");
      } finally {
        await ingester.stop();
        await source.close();
      }
      expect(ingester.stats()).toMatchObject({ inserted: events.length, deadLettered: 1, errors: 0 });
      const stored = store.query({}, { limit: 1000 }).events.map((e) => e.eventId);
      expect(new Set(stored)).toStrictEqual(new Set(events.map((e) => e.eventId)));
      store.close();

      const reader = new Consumer({
        groupId: `${topic}-reader`,
        clientId: "grpc-audit-test-reader",
        bootstrapBrokers: brokers,
        deserializers: stringDeserializers,
      });
      try {
        const stream = await reader.consume({
          topics: [`${topic}.dead-letter`],
          mode: "earliest",
          maxWaitTime: 1000,
        });
        for await (const message of stream) {
          expect([message.value, message.headers.get(DEAD_LETTER_REASON_HEADER)]).toStrictEqual([
            "hello",
            'unknown content-type "text/plain"',
          ]);
          break;
        }
        await stream.close();
      } finally {
        await reader.close(true);
        await admin.deleteTopics({ topics: [topic, `${topic}.dead-letter`] }).catch(() => {});
        await admin.close();
      }
    },
    120_000,
  );
});
