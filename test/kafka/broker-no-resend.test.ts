/**
 * When a publish fails after Kafka stored some of its messages (requests before the failing one, or
 * the messages sent one at a time beside one Kafka refuses as too large), the delivery pipeline
 * writes the batch again: the adapter leaves out what Kafka already stored, so the topic holds each
 * event once. Uses a fake producer at the client boundary that answers as `@platformatic/kafka`
 * reports it (a ResponseError holding Kafka's code).
 */
import { describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { sampleEvent } from "../helpers/events.js";
import { refusingKafka } from "./refusing-producer.js";

async function deliver(
  broker: ReturnType<typeof refusingKafka>["broker"],
  events: ReturnType<typeof sampleEvent>[],
) {
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
    const { broker, stored } = refusingKafka();
    const events = ids(20).map((eventId) =>
      sampleEvent({ kind: "authn", eventId, ...(eventId === "e-4" ? { operation: "o".repeat(6000) } : {}) }),
    );
    const { flushed, stats } = await deliver(broker, events);
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
    expect(stats).toMatchObject({ delivered: 19, dropped: { too_large: 1 } });
    expect(stored).toStrictEqual(ids(20).filter((id) => id !== "e-4"));
  });

  it("stores the requests sent before a failed one once when the batch is published again", async () => {
    const { broker, stored } = refusingKafka({ maxRequestBytes: 2000, refuses: (send) => send === 2 });
    const { flushed, stats } = await deliver(
      broker,
      ids(19).map((eventId) => sampleEvent({ kind: "authn", eventId })),
    );
    expect(flushed).toMatchObject({ ok: true, pending: 0 });
    expect(stats).toMatchObject({ delivered: 19, retried: 1 });
    expect(stored).toStrictEqual(ids(19));
  });
});
