/**
 * instrumentSink must keep every member of the sink it wraps. It dropped `acceptsEvent`, the broker
 * sink's check of a message's headers: an instrumented broker sink then took at emit an event whose
 * headers (the service name) take its message over the broker's limit, and the broker refused the
 * batch on every retry, for ever, holding back the events behind it.
 */
import { describe, expect, it } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { instrumentSink } from "../../src/otel/index.js";
import { fakeBroker } from "../brokers/fake-broker.js";
import { sampleEvent } from "../helpers/events.js";
import { testMeterProvider } from "./metric-reader.js";

describe("instrumentSink around a broker sink", () => {
  it("keeps the sink's own size check: an event whose headers are too large is refused at emit as too_large", async () => {
    const broker = fakeBroker({ maxMessageBytes: 4096 });
    const sink = createBrokerSink({ broker, topic: "t" });
    const { meterProvider } = testMeterProvider();
    const emitter = createDeliveryEmitter({
      sink: instrumentSink(sink, { meterProvider }),
      flushIntervalMs: 0,
      retry: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    // Within maxEventBytes as protobuf, but the service name is in the headers too: over 4096 bytes.
    const large = sampleEvent({ kind: "authz", service: "s".repeat(2000) });
    expect(encodeEvent(large).length).toBeLessThan(sink.maxEventBytes ?? 0);
    const small = sampleEvent({ kind: "authn", service: "projects" });

    expect([emitter.emit(large), emitter.emit(small)]).toStrictEqual(["dropped", "accepted"]);
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true });
    await emitter.close({ timeoutMs: 100 });

    expect(broker.acked.map((m) => m.key)).toStrictEqual([small.eventId]);
    expect(broker.calls).toHaveLength(1);
    expect(emitter.stats()).toMatchObject({
      dropped: { too_large: 1 },
      droppedByReasonAndKind: { too_large: { "authz.decision": 1 } },
      delivered: 1,
      retried: 0,
    });
  });

  it("passes the sink's acceptsEvent through, called on the sink", () => {
    const { meterProvider } = testMeterProvider();
    const seen: number[] = [];
    const sink = {
      name: "checked",
      limit: 10,
      write: async () => {},
      acceptsEvent(_event: unknown, size: number) {
        seen.push(size);
        return size <= this.limit;
      },
    };
    const wrapped = instrumentSink(sink, { meterProvider });
    const event = sampleEvent();
    expect([wrapped.acceptsEvent?.(event, 10), wrapped.acceptsEvent?.(event, 11), seen]).toStrictEqual([
      true,
      false,
      [10, 11],
    ]);
  });
});
