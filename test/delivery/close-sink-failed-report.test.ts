/**
 * A delivery emitter's close() whose sink close failed reported "error" with "sink close failed"
 * only: the events its drain dropped (refused for good, or left at the deadline) were in the counts
 * but not in the error, which is all onError and a log show. The error now names what the drain did
 * first. Uses a fake Kafka producer at the client boundary, answering as `@platformatic/kafka`
 * reports it, whose close fails.
 */
import { ResponseError, type SendOptions } from "@platformatic/kafka";
import { expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { sampleEvent } from "../helpers/events.js";

type Send = SendOptions<Buffer, Buffer, Buffer, Buffer>;

/** The topic's max.message.bytes. */
const TOPIC_LIMIT = 4096;

const closeFailure = new Error("producer close failed: connection reset");

/**
 * A Kafka broker whose producer refuses a message over TOPIC_LIMIT as too large, or never answers a
 * send when `hang`, and whose close fails.
 */
function failingCloseKafka(hang: boolean) {
  const stored: string[] = [];
  const broker = createKafkaBroker({
    bootstrapBrokers: ["kafka-1:9092"],
    clientId: "projects-api",
    createProducer: () => ({
      send: async (send: Send) => {
        if (hang) await new Promise(() => {});
        if (send.messages.some((m) => (m.key?.length ?? 0) + (m.value?.length ?? 0) > TOPIC_LIMIT))
          throw new ResponseError(0, 9, { "/topics/0/partitions/0": [10, null] }, {});
        stored.push(...send.messages.map((m) => m.key?.toString() ?? ""));
        return {};
      },
      close: async () => {
        throw closeFailure;
      },
    }),
  });
  return { broker, stored };
}

it("names the events the drain dropped as too large before the failed sink close", async () => {
  const { broker, stored } = failingCloseKafka(false);
  const emitter = createBrokerEmitter({ broker, topic: "audit" });
  emitter.emit(sampleEvent({ kind: "authn", eventId: "e-1" }));
  emitter.emit(sampleEvent({ kind: "authz", eventId: "e-2", operation: "o".repeat(TOPIC_LIMIT) }));
  emitter.emit(sampleEvent({ kind: "authn", eventId: "e-3" }));

  const report = await emitter.close();

  const message = "close dropped 1 event (too_large 1); sink close failed";
  expect(report).toStrictEqual({
    ok: false,
    results: [
      {
        emitter: "kafka:audit",
        status: "error",
        error: new AuditEmitError("kafka:audit", message, { cause: closeFailure }),
        pending: 0,
      },
    ],
    pending: 0,
    delivered: 2,
    spooled: 0,
    dropped: 1,
  });
  expect(stored).toStrictEqual(["e-1", "e-3"]);
});

it("names the deadline and the events left at it before the failed sink close", async () => {
  const { broker } = failingCloseKafka(true);
  const emitter = createBrokerEmitter({ broker, topic: "audit" });
  emitter.emit(sampleEvent({ kind: "authn", eventId: "e-1" }));
  emitter.emit(sampleEvent({ kind: "authn", eventId: "e-2" }));

  const report = await emitter.close({ timeoutMs: 300 });

  const message = "close ran out of time, dropped 2 events (close_timeout 2); sink close failed";
  expect(report).toStrictEqual({
    ok: false,
    results: [
      {
        emitter: "kafka:audit",
        status: "error",
        error: new AuditEmitError("kafka:audit", message, { cause: closeFailure }),
        pending: 0,
      },
    ],
    pending: 0,
    delivered: 0,
    spooled: 0,
    dropped: 2,
  });
});
