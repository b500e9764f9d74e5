/**
 * The Kafka broker emitter with several batches in flight (`maxInFlightBatches` above 1), on the
 * loopback stand-in broker (wire-broker/), which checks idempotent producer sequences as Kafka does.
 * `@platformatic/kafka` counts a partition's sequence numbers when a send is acknowledged, so two
 * sends of one producer at once carry the same numbers: Kafka answers the second as a repeat of the
 * first (not stored) or refuses it as out of order. The broker must send one request at a time.
 */
import { Producer } from "@platformatic/kafka";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import type { DeliveryEmitter } from "../../src/delivery/index.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { sampleEvent } from "../helpers/events.js";
import { startWireBroker, type WireBroker } from "./wire-broker/index.js";

const TOPIC = "audit-events";

let kafka: WireBroker;
beforeEach(async () => {
  kafka = await startWireBroker();
  kafka.createTopic(TOPIC, { partitions: 1 });
});
afterEach(async () => {
  await kafka.close();
});

const eventId = (i: number) => `019b7ca9-8f2e-7000-8000-${String(i).padStart(12, "0")}`;
const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Event ids stored on the broker, in offset order. */
const stored = () => kafka.records(TOPIC, 0).map((r) => r.key?.toString());

function setup(delivery: Parameters<typeof createBrokerEmitter>[0]["delivery"] = {}) {
  const errors: Error[] = [];
  // Most sends of the producer unsettled at once.
  const sends = { now: 0, most: 0 };
  const emitter = createBrokerEmitter({
    broker: createKafkaBroker({
      bootstrapBrokers: kafka.bootstrapBrokers,
      clientId: "projects-api",
      timeoutMs: 2000,
      createProducer: (options) => {
        const producer = new Producer({ ...options, retryDelay: 20 });
        return {
          send: async (sendOptions) => {
            sends.most = Math.max(sends.most, ++sends.now);
            try {
              return await producer.send(sendOptions);
            } finally {
              sends.now--;
            }
          },
          close: () => producer.close(),
        };
      },
    }),
    topic: TOPIC,
    delivery: {
      maxBatchEvents: 1,
      maxInFlightBatches: 4,
      flushIntervalMs: 5,
      writeTimeoutMs: 1000,
      closeTimeoutMs: 3000,
      retry: { initialDelayMs: 20, maxDelayMs: 100 },
      onError: (error) => errors.push(error),
      ...delivery,
    },
  });
  return { emitter, errors, sends };
}

async function emitAll(emitter: DeliveryEmitter, list: readonly number[]) {
  for (const i of list) expect(emitter.emit(sampleEvent({ eventId: eventId(i) }))).toBe("accepted");
}

/** The stored ids in the order first stored, each once. */
const firstStored = () => [...new Set(stored())];

describe("the Kafka broker emitter with several batches in flight (loopback stand-in broker)", () => {
  it("stores every event of batches written at once, each once and in order", async () => {
    const { emitter, errors, sends } = setup();
    await emitAll(emitter, ids(1, 12));
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    expect((await emitter.close()).ok).toBe(true);
    expect(stored()).toStrictEqual(ids(1, 12).map(eventId));
    expect(sends.most).toBe(1);
    expect(emitter.stats()).toMatchObject({ accepted: 12, delivered: 12, dropped: {} });
    expect(errors).toStrictEqual([]);
    expect(kafka.errors).toStrictEqual([]);
  });

  it("after a write timeout (Kafka answers later) with batches queued behind it, stores every event and goes on", async () => {
    kafka.state.produceFault = (request) => (request === 1 ? { kind: "delay-answer", ms: 600 } : undefined);
    const { emitter, errors, sends } = setup({ writeTimeoutMs: 300 });
    await emitAll(emitter, ids(1, 6));
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    await emitAll(emitter, ids(7, 10));
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    expect((await emitter.close()).ok).toBe(true);
    // The unanswered batch is stored first, then again when written again; after a failure the
    // pipeline may hand batches over out of order, but none is lost.
    expect(firstStored().toSorted()).toStrictEqual(ids(1, 10).map(eventId));
    expect(stored().slice(-4)).toStrictEqual(ids(7, 10).map(eventId));
    expect(emitter.stats()).toMatchObject({ accepted: 10, delivered: 10, dropped: {} });
    expect(sends.most).toBe(1);
    expect(errors.map((e) => String(e.cause))).toContain(
      "TimeoutError: sink write did not settle within 300 ms",
    );
    expect(kafka.errors).toStrictEqual([]);
  });
});
