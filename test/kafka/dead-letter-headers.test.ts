/**
 * The dead letter of a message that already carries grpc-audit-dead-letter-reason / -from
 * headers (a dead letter replayed into the topic, or a producer that set them) must say why and where
 * from for THIS dead letter. Kafka headers are a list: kafka-source-message.ts builds them in a Map keyed by
 * Buffers (compared by identity), so the new headers are added beside the old ones, after them, and a
 * reader taking the first value of a header (as the source's own `header()` does) gets the stale one.
 * Runs on the fake cluster at the client boundary (test/kafka/fake-kafka.ts); the raw headers the
 * source hands to the producer are captured by wrapping the fake's producer.
 */
import type { SendOptions } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { BROKER_HEADER } from "../../src/brokers/event-headers.js";
import { createIngester } from "../../src/ingest/index.js";
import {
  createKafkaSource,
  DEAD_LETTER_FROM_HEADER,
  DEAD_LETTER_REASON_HEADER,
} from "../../src/kafka/index.js";
import { until } from "../ingest/fleet.js";
import { fakeKafka } from "./fake-kafka.js";

describe("Kafka source dead letters of a message with stale dead-letter headers", () => {
  it("carries exactly one reason and one origin header, this dead letter's", async () => {
    const kafka = fakeKafka("audit-events", 1);
    kafka.append(0, "hello", {
      [BROKER_HEADER.CONTENT_TYPE]: "text/plain",
      [DEAD_LETTER_REASON_HEADER]: "an old reason",
      [DEAD_LETTER_FROM_HEADER]: "elsewhere/9@99",
    });
    const sent: SendOptions<Buffer, Buffer, Buffer, Buffer>[] = [];
    const source = await createKafkaSource({
      bootstrapBrokers: ["kafka-1:9092"],
      topic: "audit-events",
      groupId: "ingest",
      createConsumer: (o) => kafka.createConsumer(o),
      createProducer: (o) => {
        const producer = kafka.createProducer(o);
        return {
          send: (send) => {
            sent.push(send);
            return producer.send(send);
          },
          close: () => producer.close(),
        };
      },
    });
    const ingester = createIngester({ source, store: { insert: (events) => events.length } });
    await until(() => ingester.stats().deadLettered === 1, "the dead letter");
    await ingester.stop();
    await source.close();

    const headers = sent[0]?.messages[0]?.headers as Map<Buffer, Buffer>;
    const values = (name: string) =>
      [...headers].filter(([k]) => k.toString() === name).map(([, v]) => v.toString());
    expect(values(DEAD_LETTER_FROM_HEADER)).toStrictEqual(["audit-events/0@0"]);
    expect(values(DEAD_LETTER_REASON_HEADER)).toStrictEqual(['unknown content-type "text/plain"']);
    expect(values(BROKER_HEADER.CONTENT_TYPE)).toStrictEqual(["text/plain"]);
  });
});
