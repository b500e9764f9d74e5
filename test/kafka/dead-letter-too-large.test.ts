/**
 * "Poison messages go to the dead-letter topic … and never block a partition". A Kafka dead-letter
 * topic refuses a message over its max.message.bytes (MESSAGE_TOO_LARGE, for good), which can be below
 * the source topic's (a source topic whose limit was raised while \`<topic>.dead-letter\` was created on
 * demand with the broker default). Such a dead letter goes without its key, headers and value (the
 * message stays in the source topic at its offset), so the partition moves on.
 * Relies on the fake client (fake-kafka.ts): its producer is wrapped to refuse dead letters over 1024
 * bytes, as the broker would, with the error the real client gives.
 */
import { ResponseError } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { BROKER_HEADER } from "../../src/brokers/event-headers.js";
import { createIngester } from "../../src/ingest/index.js";
import {
  createKafkaBroker,
  createKafkaSource,
  DEAD_LETTER_FROM_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
} from "../../src/kafka/index.js";
import { seedEvents } from "../cli/helpers.js";
import { fakeKafka } from "./fake-kafka.js";

const DEAD_LETTER_LIMIT = 1024;

describe("Kafka source: a poison message too large for the dead-letter topic", () => {
  it("does not block its partition: the events after it are committed", async () => {
    const kafka = fakeKafka("audit-events", 1);
    kafka.append(0, "x".repeat(2000), { [BROKER_HEADER.CONTENT_TYPE]: "text/plain" });
    const broker = createKafkaBroker({
      bootstrapBrokers: ["kafka-1:9092"],
      clientId: "projects-api",
      createProducer: (o) => kafka.createProducer(o),
    });
    await createBrokerSink({ broker, topic: "audit-events" }).write(seedEvents(3));
    const source = await createKafkaSource({
      bootstrapBrokers: ["kafka-1:9092"],
      topic: "audit-events",
      groupId: "ingest",
      createConsumer: (o) => kafka.createConsumer(o),
      createProducer: (o) => {
        const producer = kafka.createProducer(o);
        return {
          send: async (send) => {
            for (const m of send.messages) {
              let bytes = (m.key?.length ?? 0) + (m.value?.length ?? 0);
              for (const [k, v] of m.headers as Map<Buffer, Buffer>) bytes += k.length + v.length;
              // As @platformatic/kafka reports the broker's refusal: MESSAGE_TOO_LARGE (code 10) in a ResponseError.
              if (bytes > DEAD_LETTER_LIMIT)
                throw new ResponseError(0, 9, { "/topics/0/partitions/0": [10, null] }, {});
            }
            return producer.send(send);
          },
          close: () => producer.close(),
        };
      },
    });
    const errors: string[] = [];
    const ingester = createIngester({
      source,
      store: { insert: (events) => events.length },
      retryDelayMs: 10,
      maxWaitMs: 50,
      onError: (e) => errors.push(e.message),
    });
    // 3 s: the message would be dead-lettered (or its send given up on) within a few tries.
    for (let waited = 0; kafka.committed()[0] !== 4 && waited < 3000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await ingester.stop();
    await source.close();
    const committed = kafka.committed()[0];
    expect({ committed, errors }).toStrictEqual({ committed: 4, errors: [] });
    // The dead letter that fits: reason, origin and the original size; the value stays in the topic.
    expect(kafka.produced).toHaveLength(1);
    expect(kafka.produced[0]?.value.length).toBe(0);
    expect(kafka.produced[0]?.headers).toMatchObject({
      [DEAD_LETTER_FROM_HEADER]: "audit-events/0@0",
      [DEAD_LETTER_TRUNCATED_HEADER]: "2000",
    });
  }, 15_000);
});
