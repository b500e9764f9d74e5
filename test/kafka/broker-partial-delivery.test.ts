/**
 * When a publish fails after Kafka stored some of its messages, the adapter's error names their event
 * ids (an AuditPartialDeliveryError): the broker emitter counts exactly those delivered, and only the
 * others are retried, or dropped when close() gives up on them. Before, close() counted the whole
 * batch dropped while the topic held part of it. Uses a fake producer at the client boundary that
 * answers as `@platformatic/kafka` reports it (a ResponseError holding Kafka's code).
 */
import { describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { AuditPartialDeliveryError } from "../../src/errors/index.js";
import { errorCollector } from "../delivery/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { until } from "../helpers/fake-sink.js";
import { refusingKafka } from "./refusing-producer.js";

/** Emits the events, waits for the first failed write to be reported, then closes. */
async function deliverUntilFailed(
  broker: ReturnType<typeof refusingKafka>["broker"],
  events: ReturnType<typeof sampleEvent>[],
) {
  const { errors, onError } = errorCollector();
  const emitter = createBrokerEmitter({
    broker,
    topic: "audit-events",
    delivery: { retry: { initialDelayMs: 5, maxDelayMs: 20 }, closeTimeoutMs: 100, onError },
  });
  for (const event of events) emitter.emit(event);
  // Reported once the pipeline has handled the failed write.
  await until(() => errors.some((error) => error.message.includes("sink write failed")));
  await emitter.close();
  const failure = errors.find((error) => error.message.includes("sink write failed"))?.cause;
  return { stats: emitter.stats(), failure };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `e-${i + 1}`);

describe("Kafka broker: a publish that fails after Kafka stored part of it", () => {
  it("names the events of the requests Kafka stored, which are counted delivered", async () => {
    const { broker, stored } = refusingKafka({ maxRequestBytes: 2000, refuses: (send) => send >= 2 });
    const { stats, failure } = await deliverUntilFailed(
      broker,
      ids(19).map((eventId) => sampleEvent({ kind: "authn", eventId })),
    );

    expect(stored.length).toBeGreaterThan(0);
    expect(stored).toStrictEqual(ids(stored.length));
    expect(failure).toBeInstanceOf(AuditPartialDeliveryError);
    expect((failure as AuditPartialDeliveryError).deliveredEventIds).toStrictEqual(stored);
    expect(stats).toMatchObject({ delivered: stored.length, dropped: { close_timeout: 19 - stored.length } });
  });

  it("names the events stored beside one too large when the rest of the batch then fails", async () => {
    // e-1 and e-2 (over the topic's limit) make the first request; e-1 is stored alone, e-2 dropped;
    // the rest of the batch, e-1 left out, fails.
    const { broker, stored } = refusingKafka({ maxRequestBytes: 8000, refuses: (send) => send >= 4 });
    const operation = (eventId: string) =>
      eventId === "e-2" ? "o".repeat(5800) : eventId === "e-3" ? "o".repeat(2000) : "op";
    const { stats, failure } = await deliverUntilFailed(
      broker,
      ids(6).map((eventId) => sampleEvent({ kind: "authn", eventId, operation: operation(eventId) })),
    );

    expect(stored).toStrictEqual(["e-1"]);
    expect((failure as AuditPartialDeliveryError).deliveredEventIds).toStrictEqual(["e-1"]);
    expect(stats).toMatchObject({ delivered: 1, dropped: { too_large: 1, close_timeout: 4 } });
  });
});
