/**
 * A custom partitionKey makes the Kafka message key, which counts against maxMessageBytes
 * (kafka-broker.ts toRecord: key + value + headers). docs/brokers.md: "An event larger than the
 * broker accepts — its message with the headers … — is refused at emit and counted as dropped
 * (too_large), never retried." Uses a fake producer at the client boundary (no broker runs here);
 * the size limit is the Kafka broker adapter's own maxMessageBytes check, not the stand-in's.
 */
import type { SendOptions } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { sampleEvent } from "../helpers/events.js";

describe("Kafka broker emitter: an event whose partition key takes its message over maxMessageBytes", () => {
  it("is refused at emit as too_large, and the events after it are delivered", async () => {
    const sends: SendOptions<Buffer, Buffer, Buffer, Buffer>[] = [];
    const broker = createKafkaBroker({
      bootstrapBrokers: ["kafka-1:9092"],
      clientId: "projects-api",
      maxMessageBytes: 8192,
      createProducer: () => ({
        send: async (send) => {
          sends.push(send);
          return {};
        },
        close: async () => {},
      }),
    });
    const errors: Error[] = [];
    const longKey = "t".repeat(9000); // a target id used as partition key
    const emitter = createBrokerEmitter({
      broker,
      topic: "audit-events",
      partitionKey: (e) => (e.service === "long-key" ? longKey : e.eventId),
      delivery: { retry: { initialDelayMs: 5, maxDelayMs: 20 }, onError: (e) => errors.push(e) },
    });
    const big = sampleEvent({ kind: "authz", service: "long-key" });
    const small = sampleEvent({ kind: "authn", service: "projects" });
    const first = emitter.emit(big);
    expect(emitter.emit(small)).toBe("accepted");
    const flushed = await emitter.flush({ timeoutMs: 1000 });
    await emitter.close({ timeoutMs: 100 });

    const delivered = sends.flatMap((s) => s.messages.map((m) => m.key?.toString()));
    expect(delivered).toStrictEqual([small.eventId]);
    expect(first).not.toBe("accepted");
    expect(emitter.stats().dropped).toStrictEqual({ too_large: 1 });
    expect(flushed.ok).toBe(true);
  }, 10_000);
});
