import { describe, expect, it } from "vitest";
import type { Broker, BrokerMessage } from "../../src/brokers/broker.js";
import {
  BROKER_DELIVERY_DEFAULTS,
  type BrokerEmitterOptions,
  createBrokerEmitter,
} from "../../src/brokers/broker-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { decodeEvent, encodeEvent } from "../../src/event/serialize.js";
import { numberedEvents } from "../delivery/helpers.js";
import { DETAIL_KINDS, sampleEvent, sampleEvents } from "../helpers/events.js";
import { fakeBroker } from "./fake-broker.js";

/**
 * A broker whose publishes wait until `release()`; later publishes are acknowledged at once. It says
 * it keeps concurrent publishes in call order unless `inCallOrder` is false.
 */
function holdingBroker(inCallOrder = true): {
  broker: Broker;
  calls: (readonly BrokerMessage[])[];
  release: () => void;
} {
  const calls: (readonly BrokerMessage[])[] = [];
  let released = false;
  let waiting: (() => void)[] = [];
  const broker: Broker = {
    name: "holding",
    ...(inCallOrder ? { publishesInCallOrder: true } : {}),
    publish(_topic, messages) {
      calls.push(messages);
      return released ? Promise.resolve() : new Promise((resolve) => waiting.push(resolve));
    },
    close: async () => {},
  };
  const release = () => {
    released = true;
    for (const resolve of waiting) resolve();
    waiting = [];
  };
  return { broker, calls, release };
}

describe("createBrokerEmitter", () => {
  it("delivers emitted events through the pipeline to the broker topic, in order and batched", async () => {
    const broker = fakeBroker({ name: "nats" });
    const emitter = createBrokerEmitter({
      broker,
      topic: "audit.events",
      delivery: { maxBatchEvents: 3, flushIntervalMs: 10_000 },
    });
    const events = sampleEvents();
    expect(events.map((event) => emitter.emit(event))).toStrictEqual(events.map(() => "accepted"));
    const report = await emitter.flush();

    expect(report.ok).toBe(true);
    expect(emitter.name).toBe("nats:audit.events");
    expect(broker.calls.map((call) => [call.topic, call.messages.length])).toStrictEqual([
      ["audit.events", 3],
      ["audit.events", 3],
      ["audit.events", 1],
    ]);
    expect(broker.acked.map((m) => decodeEvent(m.value))).toStrictEqual(events);
    expect(emitter.stats()).toMatchObject({
      accepted: DETAIL_KINDS.length,
      delivered: DETAIL_KINDS.length,
      dropped: {},
      failed: 0,
    });
    await emitter.close();
  });

  it("passes the sink options through: JSON, partition key and CloudEvents headers", async () => {
    const broker = fakeBroker({ cloudEventsHeaderPrefix: "ce-" });
    const emitter = createBrokerEmitter({
      broker,
      topic: "t",
      encoding: "json",
      partitionKey: (event) => event.service,
      cloudEvents: true,
    });
    emitter.emit(sampleEvent());
    await emitter.flush();

    expect(broker.acked[0]?.key).toBe("projects");
    expect(broker.acked[0]?.headers).toMatchObject({
      "content-type": "application/json",
      "ce-specversion": "1.0",
    });
    await emitter.close();
  });

  it("refuses and counts an event larger than the broker takes, without publishing it", async () => {
    const broker = fakeBroker({ maxMessageBytes: 2048 });
    const emitter = createBrokerEmitter({ broker, topic: "t" });
    const outcome = emitter.emit(sampleEvent({ operation: "x".repeat(2000) }));
    await emitter.flush();

    expect(outcome).toBe("dropped");
    expect(emitter.stats().dropped).toStrictEqual({ too_large: 1 });
    expect(broker.calls).toStrictEqual([]);
    await emitter.close();
  });

  it("retries a batch the broker refused until it is acknowledged", async () => {
    const broker = fakeBroker();
    broker.failWith = new Error("no PubAck");
    const emitter = createBrokerEmitter({
      broker,
      topic: "t",
      delivery: { retry: { initialDelayMs: 1, maxDelayMs: 5 }, flushIntervalMs: 1 },
    });
    emitter.emit(sampleEvent());
    await expect.poll(() => broker.calls.length).toBeGreaterThanOrEqual(3);
    broker.failWith = undefined;
    await emitter.flush();

    expect(broker.acked.map((m) => decodeEvent(m.value))).toStrictEqual([sampleEvent()]);
    expect(emitter.stats().retried).toBeGreaterThanOrEqual(2);
    await emitter.close();
  });

  it(`publishes up to ${BROKER_DELIVERY_DEFAULTS.maxInFlightBatches} batches at once by default to a broker that keeps them in order, each from the queued bytes`, async () => {
    const { broker, calls, release } = holdingBroker();
    const emitter = createBrokerEmitter({ broker, topic: "t", delivery: { maxBatchEvents: 1 } });
    const events = numberedEvents(6);

    for (const event of events) emitter.emit(event);
    await expect.poll(() => calls.length).toBe(4);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls.length).toBe(4);
    release();
    await emitter.flush();

    expect(calls.map((messages) => messages.map((m) => decodeEvent(m.value)))).toStrictEqual(
      events.map((event) => [event]),
    );
    expect(calls.flat().map((m) => m.value)).toStrictEqual(events.map(encodeEvent));
    expect(emitter.stats()).toMatchObject({ delivered: 6, retried: 0 });
    await emitter.close();
  });

  it.each([
    ["with delivery.maxInFlightBatches: 1", true, { maxBatchEvents: 1, maxInFlightBatches: 1 }],
    ["by default to a broker that may reorder concurrent publishes", false, { maxBatchEvents: 1 }],
  ])("publishes one batch at a time %s", async (_, inCallOrder, delivery) => {
    const { broker, calls, release } = holdingBroker(inCallOrder);
    const emitter = createBrokerEmitter({ broker, topic: "t", delivery });

    for (const event of numberedEvents(3)) emitter.emit(event);
    await expect.poll(() => calls.length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls.length).toBe(1);
    release();
    await emitter.flush();
    expect(calls.length).toBe(3);
    await emitter.close();
  });

  it("closes the broker when it is closed", async () => {
    const broker = fakeBroker();
    const emitter = createBrokerEmitter({ broker, topic: "t" });
    await emitter.close();
    expect(broker.closed).toBe(1);
  });

  describe("rejects bad options at construction, naming the option", () => {
    const broker = fakeBroker();
    const cases: [string, unknown, RegExp][] = [
      [
        "no options at all",
        undefined,
        /^broker emitter: options must be an object with `broker` and `topic`, got undefined$/,
      ],
      ["an empty topic", { broker, topic: "" }, /^broker emitter: `topic` must /],
      [
        "delivery that is not an object",
        { broker, topic: "t", delivery: 5 },
        /^broker emitter: `delivery` must be an object of delivery pipeline options, got 5$/,
      ],
      [
        "a sink inside delivery",
        { broker, topic: "t", delivery: { sink: {} } },
        /^broker emitter: `delivery\.sink`: /,
      ],
      [
        "an invalid delivery option",
        { broker, topic: "t", delivery: { maxQueueEvents: -1 } },
        /maxQueueEvents/,
      ],
      [
        "maxInFlightBatches 0",
        { broker, topic: "t", delivery: { maxInFlightBatches: 0 } },
        /^broker emitter: delivery\.maxInFlightBatches must be a positive integer, got 0$/,
      ],
      [
        "maxInFlightBatches null",
        { broker, topic: "t", delivery: { maxInFlightBatches: null } },
        /^broker emitter: delivery\.maxInFlightBatches must be a positive integer, got null$/,
      ],
    ];
    for (const [what, options, message] of cases) {
      it(what, () => {
        const create = () => createBrokerEmitter(options as BrokerEmitterOptions);
        expect(create).toThrow(AuditConfigError);
        expect(create).toThrow(message);
      });
    }
  });
});
