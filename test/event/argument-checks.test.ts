// The codec functions refuse what is not an event (or not bytes) with an AuditInputError naming the
// function, not a TypeError from deep inside.
import { describe, expect, it } from "vitest";
import { AuditInputError } from "../../src/errors/index.js";
import { decodeEvent, encodeEvent, eventToJson } from "../../src/event/serialize.js";

describe("event codec argument checks", () => {
  const cases: [string, () => unknown, string][] = [
    [
      "eventToJson(null)",
      () => eventToJson(null as never),
      "eventToJson: `event` must be an AuditEvent, got null",
    ],
    [
      "eventToJson(undefined)",
      () => eventToJson(undefined as never),
      "eventToJson: `event` must be an AuditEvent, got undefined",
    ],
    [
      "encodeEvent(5)",
      () => encodeEvent(5 as never),
      "encodeEvent: `event` must be an AuditEvent, got number",
    ],
    [
      "encodeEvent({})",
      () => encodeEvent({} as never),
      "encodeEvent: `event` is not a complete AuditEvent (AuditEvent.fromPartial fills in defaults): ",
    ],
    [
      'decodeEvent("str")',
      () => decodeEvent("str" as never),
      "decodeEvent: `bytes` must be a Uint8Array (or Buffer), got string",
    ],
  ];
  for (const [what, call, message] of cases) {
    it(`${what} throws an AuditInputError`, () => {
      expect(call).toThrow(AuditInputError);
      expect(call).toThrow(message);
    });
  }
});
