/**
 * The broker sink's `writeEncoded`: the messages it publishes from queued bytes are exactly those
 * `write` publishes from the decoded events, for every encoding and header option.
 */
import { describe, expect, it } from "vitest";
import type { BrokerMessage } from "../../src/brokers/broker.js";
import { type BrokerSinkOptions, createBrokerSink } from "../../src/brokers/broker-sink.js";
import { LazyEncodedEvent } from "../../src/delivery/event-bytes.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { sampleEvent, sampleEvents } from "../helpers/events.js";
import { fakeBroker } from "./fake-broker.js";

/** The sample events, and events that stress the header fields. */
function events(): AuditEvent[] {
  return [
    ...sampleEvents(),
    AuditEvent.fromPartial({}),
    sampleEvent({ service: "line\nbreak\u0000and\ttab", eventId: "id\r\n" }),
    { ...sampleEvent(), occurredAt: undefined },
    { ...sampleEvent(), occurredAt: new Date(Date.UTC(1969, 11, 31, 23, 59, 59, 999)) },
    { ...sampleEvent(), eventType: EventType.UNRECOGNIZED },
    { ...sampleEvent(), schemaVersion: 4_000_000_000 },
  ];
}

/** The messages one sink publishes for the same events through write and through writeEncoded. */
async function bothWays(
  options: Omit<BrokerSinkOptions, "broker" | "topic">,
): Promise<{ written: BrokerMessage[]; encoded: BrokerMessage[]; decodes: number }> {
  const broker = fakeBroker({ cloudEventsHeaderPrefix: "ce-" });
  const sink = createBrokerSink({ broker, topic: "t", ...options });
  await sink.write(events());
  const written = broker.acked.splice(0);
  let decodes = 0;
  const batch = events().map((event) => {
    const lazy = new LazyEncodedEvent(encodeEvent(event));
    return {
      bytes: lazy.bytes,
      get event() {
        decodes++;
        return lazy.event;
      },
    };
  });
  await sink.writeEncoded?.(batch);
  return { written, encoded: broker.acked.splice(0), decodes };
}

describe("broker sink writeEncoded", () => {
  const cases: [string, Omit<BrokerSinkOptions, "broker" | "topic">, number][] = [
    ["protobuf (the default)", {}, 0],
    ["protobuf with CloudEvents headers", { cloudEvents: true }, 0],
    ["protobuf with a CloudEvents prefix", { cloudEvents: { headerPrefix: "ce_" } }, 0],
    ["protobuf with a partition key", { partitionKey: (event) => event.target?.id ?? "" }, events().length],
    ["JSON", { encoding: "json", cloudEvents: true }, events().length],
  ];
  it.each(cases)("publishes the messages write publishes: %s", async (_, options, decodes) => {
    const result = await bothWays(options);

    expect(result.encoded).toStrictEqual(result.written);
    expect(result.decodes).toBe(decodes);
  });

  it("publishes the queued bytes themselves as the protobuf value", async () => {
    const broker = fakeBroker();
    const sink = createBrokerSink({ broker, topic: "t" });
    const bytes = encodeEvent(sampleEvent());
    await sink.writeEncoded?.([new LazyEncodedEvent(bytes)]);

    expect(broker.acked[0]?.value).toBe(bytes);
  });

  it("rejects, publishing nothing, when an event's bytes are cut off", async () => {
    const broker = fakeBroker();
    const sink = createBrokerSink({ broker, topic: "t" });
    const bytes = encodeEvent(sampleEvent()).subarray(0, 20);

    await expect(sink.writeEncoded?.([new LazyEncodedEvent(bytes)])).rejects.toThrow(RangeError);
    expect(broker.calls).toStrictEqual([]);
  });
});
