/**
 * Opt-in: publishes through a real Kafka cluster when KAFKA_BROKERS lists its bootstrap brokers
 * ("host:port,host:port"). The topic is KAFKA_TOPIC (default "grpc-audit-test") and must exist, or the
 * cluster must create topics on demand. Without KAFKA_BROKERS the test is reported as skipped.
 */
import { Consumer, stringDeserializers } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { decodeEvent } from "../../src/event/serialize.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { sampleEvent } from "../helpers/events.js";

const brokers = process.env.KAFKA_BROKERS?.split(",").filter((b) => b !== "") ?? [];
const topic = process.env.KAFKA_TOPIC ?? "grpc-audit-test";

describe("createKafkaBroker against a real cluster", () => {
  it.skipIf(!process.env.KAFKA_BROKERS)(
    "publishes an acknowledged event that a consumer reads back with its headers (needs KAFKA_BROKERS=host:port, else skipped)",
    async () => {
      expect.assertions(3);
      const broker = createKafkaBroker({ bootstrapBrokers: brokers, clientId: "grpc-audit-test" });
      const eventId = `019b7ca9-8f2e-7000-8000-${String(Date.now()).padStart(12, "0")}`;
      const event = sampleEvent({ eventId });
      await createBrokerSink({ broker, topic, cloudEvents: true }).write([event]);
      await broker.close();

      const consumer = new Consumer({
        groupId: `grpc-audit-test-${eventId}`,
        clientId: "grpc-audit-test-reader",
        bootstrapBrokers: brokers,
        deserializers: { ...stringDeserializers, value: (data?: Buffer) => data },
      });
      try {
        const stream = await consumer.consume({ topics: [topic], mode: "earliest", maxWaitTime: 1000 });
        for await (const message of stream) {
          if (message.key !== eventId) continue;
          expect(decodeEvent(message.value ?? new Uint8Array())).toStrictEqual(event);
          expect(message.headers.get("ce_id")).toBe(eventId);
          expect(message.headers.get("grpc-audit-event-id")).toBe(eventId);
          break;
        }
        await stream.close();
      } finally {
        await consumer.close(true);
      }
    },
    60_000,
  );
});
