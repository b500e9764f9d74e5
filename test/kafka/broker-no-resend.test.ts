/**
 * When a publish fails after Kafka stored some of its messages (requests before the failing one, or
 * the messages sent one at a time beside one Kafka refuses as too large), the delivery pipeline
 * writes the batch again: the adapter leaves out what Kafka already stored, so the topic holds each
 * event once. Uses a fake producer at the client boundary that answers as `@platformatic/kafka`
 * reports it (a ResponseError holding Kafka's code).
 */
import { ResponseError, type SendOptions } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { sampleEvent } from "../helpers/events.js";

type Send = SendOptions<Buffer, Buffer, Buffer, Buffer>;

/** The topic's max.message.bytes. */
const TOPIC_LIMIT = 4096;

function recordBytes(message: Send["messages"][number]): number {
  let bytes = (message.key?.length ?? 0) + (message.value?.length ?? 0);
  for (const [k, v] of (message.headers ?? new Map()) as Map<Buffer, Buffer>) bytes += k.length + v.length;
  return bytes;
}

/** A Kafka broker whose producer refuses as too large what is over TOPIC_LIMIT, and its `failAt`-th send as not authorized. */
function kafka(options: { maxRequestBytes?: number; failAt?: number } = {}) {
  const stored: string[] = [];
  let sends = 0;
  const broker = createKafkaBroker({
    bootstrapBrokers: ["kafka-1:9092"],
    clientId: "projects-api",
    ...(options.maxRequestBytes === undefined
      ? {}
      : { maxMessageBytes: options.maxRequestBytes, maxRequestBytes: options.maxRequestBytes }),
    createProducer: () => ({
      send: async (send: Send) => {
        sends++;
        if (sends === options.failAt)
          throw new ResponseError(0, 9, { "/topics/0/partitions/0": [29, null] }, {});
        if (send.messages.some((m) => recordBytes(m) > TOPIC_LIMIT))
          throw new ResponseError(0, 9, { "/topics/0/partitions/0": [10, null] }, {});
        stored.push(...send.messages.map((m) => m.key?.toString() ?? ""));
        return {};
      },
      close: async () => {},
    }),
  });
  return { broker, stored };
}

async function deliver(broker: ReturnType<typeof kafka>["broker"], events: ReturnType<typeof sampleEvent>[]) {
  const emitter = createBrokerEmitter({
    broker,
    topic: "audit-events",
    partitionKey: (e) => e.eventId,
    delivery: { retry: { initialDelayMs: 5, maxDelayMs: 20 }, onError: () => {} },
  });
  for (const event of events) emitter.emit(event);
  const flushed = await emitter.flush({ timeoutMs: 3000 });
  await emitter.close({ timeoutMs: 100 });
  return { flushed, stats: emitter.stats() };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `e-${i + 1}`);

describe("Kafka broker: a batch written again after a failure", () => {
  it("stores the others of a batch with one event too large once", async () => {
    const { broker, stored } = kafka();
    const events = ids(20).map((eventId) =>
      sampleEvent({ kind: "authn", eventId, ...(eventId === "e-4" ? { operation: "o".repeat(6000) } : {}) }),
    );
    const { flushed, stats } = await deliver(broker, events);
    expect(flushed).toMatchObject({ ok: true, pending: 0 });
    expect(stats).toMatchObject({ delivered: 19, dropped: { too_large: 1 } });
    expect(stored).toStrictEqual(ids(20).filter((id) => id !== "e-4"));
  });

  it("stores the requests sent before a failed one once when the batch is published again", async () => {
    const { broker, stored } = kafka({ maxRequestBytes: 2000, failAt: 2 });
    const { flushed, stats } = await deliver(
      broker,
      ids(19).map((eventId) => sampleEvent({ kind: "authn", eventId })),
    );
    expect(flushed).toMatchObject({ ok: true, pending: 0 });
    expect(stats).toMatchObject({ delivered: 19, retried: 1 });
    expect(stored).toStrictEqual(ids(19));
  });
});
