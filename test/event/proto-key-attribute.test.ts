// An attribute with the key "__proto__" (a valid key the Recorder keeps as an entry, see
// test/recorder/attributes.test.ts) must survive every form of the event: protobuf and JSON, there and back.
import { describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { decodeEvent, encodeEvent, eventFromJson, eventToJson } from "../../src/event/serialize.js";
import { createRecorder } from "../../src/recorder/recorder.js";

function recorded() {
  const memory = createMemoryEmitter({ capacity: 1 });
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  recorder.recordResourceMutation({
    mutation: "create",
    resourceType: "project",
    resourceId: "p-1",
    attributes: JSON.parse('{"__proto__":"entry","tenant":"acme"}'),
  });
  const event = memory.events[0];
  if (event === undefined) throw new Error("no event");
  expect(Object.keys(event.attributes)).toStrictEqual(["__proto__", "tenant"]);
  return event;
}

describe('an attribute keyed "__proto__"', () => {
  it("is read back from protobuf", () => {
    const event = recorded();
    expect(Object.keys(decodeEvent(encodeEvent(event)).attributes).sort()).toStrictEqual([
      "__proto__",
      "tenant",
    ]);
    expect(Object.getPrototypeOf(decodeEvent(encodeEvent(event)).attributes)).toBe(Object.prototype);
  });

  it("is read back from proto3 JSON", () => {
    const event = recorded();
    const json = JSON.parse(JSON.stringify(eventToJson(event)));
    expect(Object.keys(json.attributes)).toStrictEqual(["__proto__", "tenant"]);
    expect(Object.keys(eventFromJson(json).attributes).sort()).toStrictEqual(["__proto__", "tenant"]);
  });

  it("re-encodes to the same bytes after a decode (what a chain hash is taken over)", () => {
    const event = recorded();
    const bytes = encodeEvent(event).slice();
    expect(Buffer.from(encodeEvent(decodeEvent(bytes)))).toStrictEqual(Buffer.from(bytes));
  });
});
