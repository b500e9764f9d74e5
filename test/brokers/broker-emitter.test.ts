import { describe, expect, it } from "vitest";
import { type BrokerEmitterOptions, createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { decodeEvent } from "../../src/event/serialize.js";
import { sampleEvent, sampleEvents } from "../helpers/events.js";
import { fakeBroker } from "./fake-broker.js";

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
      ["audit.events", 1],
    ]);
    expect(broker.acked.map((m) => decodeEvent(m.value))).toStrictEqual(events);
    expect(emitter.stats()).toMatchObject({ accepted: 4, delivered: 4, dropped: {}, failed: 0 });
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

  it("closes the broker when it is closed", async () => {
    const broker = fakeBroker();
    const emitter = createBrokerEmitter({ broker, topic: "t" });
    await emitter.close();
    expect(broker.closed).toBe(1);
  });

  describe("rejects bad options at construction, naming the option", () => {
    const broker = fakeBroker();
    const cases: [string, unknown, RegExp][] = [
      ["an empty topic", { broker, topic: "" }, /^topic: /],
      ["delivery that is not an object", { broker, topic: "t", delivery: 5 }, /^delivery: /],
      ["a sink inside delivery", { broker, topic: "t", delivery: { sink: {} } }, /^delivery\.sink: /],
      [
        "an invalid delivery option",
        { broker, topic: "t", delivery: { maxQueueEvents: -1 } },
        /maxQueueEvents/,
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
