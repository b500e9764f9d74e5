import { describe, expect, it } from "vitest";
import { decodeEvent, encodeEvent, eventFromJson, eventToJson } from "../../src/event/serialize.js";
import { withoutChainJson } from "../helpers/chain.js";
import { sampleEvent } from "../helpers/events.js";
import { fixedRecorder } from "../helpers/recorder.js";

function eventWithDurationMs(durationMs: number) {
  const { recorder, memory } = fixedRecorder();
  recorder.recordResourceMutation({
    mutation: "create",
    resourceType: "project",
    resourceId: "p-1",
    durationMs,
  });
  const [event] = memory.events;
  if (event === undefined) throw new Error("nothing recorded");
  return event;
}

describe("proto3 JSON", () => {
  it.each([
    [3000, "3s"],
    [250, "0.250s"],
    [1500.001, "1.500001s"],
    [0.000001, "0.000000001s"],
    [0, "0s"],
  ])("writes a duration of %d ms as the canonical string %s and reads it back", (ms, text) => {
    const event = eventWithDurationMs(ms);
    const json = eventToJson(event);
    expect(json.duration).toBe(text);
    expect(eventFromJson(JSON.parse(JSON.stringify(json)))).toStrictEqual(event);
  });

  it("writes the canonical field names, enum names and RFC 3339 time, omitting defaults", () => {
    expect(withoutChainJson([eventToJson(eventWithDurationMs(1))])).toStrictEqual([
      {
        eventId: "evt-1",
        eventType: "EVENT_TYPE_RESOURCE_MUTATION",
        schemaVersion: 2,
        occurredAt: "2026-11-23T10:00:00.000Z",
        service: "projects",
        target: { type: "project", id: "p-1" },
        result: { success: true, code: "OK" },
        duration: "0.001s",
        resourceMutation: { mutation: "MUTATION_TYPE_CREATE", resourceType: "project", resourceId: "p-1" },
      },
    ]);
  });

  it("refuses a malformed duration with an error that does not echo it", () => {
    expect(() => eventFromJson({ eventId: "x", duration: "soon" })).toThrow(
      'duration must look like "1.5s", got a string of length 4',
    );
  });
});

describe("protobuf binary", () => {
  it("round-trips and refuses truncated input", () => {
    const event = eventWithDurationMs(12.5);
    const bytes = encodeEvent(event);
    expect(decodeEvent(bytes)).toStrictEqual(event);
    expect(() => decodeEvent(bytes.subarray(0, bytes.length - 3))).toThrow();
  });

  it("gives each event its own bytes although one writer encodes them all", () => {
    const first = encodeEvent(sampleEvent({ kind: "authz" }));
    const copy = Uint8Array.from(first);
    const second = encodeEvent(sampleEvent({ kind: "tupleChange" }));
    expect(first).toStrictEqual(copy);
    expect(decodeEvent(second)).toStrictEqual(sampleEvent({ kind: "tupleChange" }));
  });

  it("encodes correctly after an encode that threw halfway", () => {
    // An invalid time throws after the id and type are written; the next event must not carry them.
    expect(() => encodeEvent(sampleEvent({ occurredAt: new Date(Number.NaN) }))).toThrow();
    const event = sampleEvent({ kind: "resourceMutation" });
    expect(encodeEvent(event)).toStrictEqual(encodeEvent(structuredClone(event)));
    expect(decodeEvent(encodeEvent(event))).toStrictEqual(event);
  });
});
