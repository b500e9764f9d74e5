/**
 * `wrapSink` hands the broker sink the emitter makes to a wrapper of the caller's (`instrumentSink`),
 * whose sink the pipeline then writes to and closes; what is not a wrapper, or does not return a
 * sink, is refused at construction.
 */
import { describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import type { EventSink } from "../../src/emitters/sink.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { sampleEvent } from "../helpers/events.js";
import { fakeBroker } from "./fake-broker.js";

describe("createBrokerEmitter wrapSink", () => {
  it("gives the broker sink to the wrapper once and writes and closes through what it returns", async () => {
    const broker = fakeBroker({ maxMessageBytes: 4096 });
    const given: EventSink[] = [];
    const through: string[] = [];
    const emitter = createBrokerEmitter({
      broker,
      topic: "audit.t",
      wrapSink: (sink) => {
        given.push(sink);
        return {
          ...sink,
          writeEncoded: (batch, options) => {
            through.push("write");
            return sink.writeEncoded?.(batch, options) ?? Promise.resolve();
          },
          close: () => {
            through.push("close");
            return sink.close?.() ?? Promise.resolve();
          },
        };
      },
    });
    expect(given.map((sink) => [sink.name, sink.maxEventBytes])).toStrictEqual([["fake:audit.t", 3072]]);
    const event = sampleEvent();
    expect(emitter.emit(event)).toBe("accepted");
    await emitter.close();
    expect(through).toStrictEqual(["write", "close"]);
    expect(broker.acked.map((m) => m.key)).toStrictEqual([event.eventId]);
    expect(broker.closed).toBe(1);
  });

  it.each([
    ["not a function", { wrapSink: "instrumentSink" }, /`wrapSink` must be a function of the broker sink/],
    ["a wrapper returning no sink", { wrapSink: () => undefined }, /`wrapSink` must return an EventSink/],
  ])("refuses %s", (_, option, message) => {
    const create = () => createBrokerEmitter({ broker: fakeBroker(), topic: "t", ...(option as object) });
    expect(create).toThrow(AuditConfigError);
    expect(create).toThrow(message);
  });
});
