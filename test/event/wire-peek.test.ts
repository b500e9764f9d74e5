/**
 * The wire-peek module reads the event id and the header fields out of encoded events exactly as
 * `decodeEvent` reads them: for valid events, for bytes cut anywhere, and for fields with a wire type
 * the schema does not give them.
 */
import { describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/event/serialize.js";
import { type PeekedFields, peekEventId, peekFields } from "../../src/event/wire-peek.js";
import { AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { sampleEvent, sampleEvents } from "../helpers/events.js";

/** The sample events, and events that stress the peeked fields. */
function events(): AuditEvent[] {
  return [
    ...sampleEvents(),
    AuditEvent.fromPartial({}),
    sampleEvent({ service: "line\nbreak\u0000and\ttab", eventId: "id\r\n" }),
    sampleEvent({ eventType: EventType.UNRECOGNIZED, schemaVersion: 4_000_000_000, occurredAt: undefined }),
  ];
}

/** What decodeEvent reads of the peeked fields, or the error it throws. */
function decoded(bytes: Uint8Array): PeekedFields | "throws" {
  try {
    const { eventId, eventType, schemaVersion, service, occurredAt } = AuditEvent.decode(bytes);
    return { eventId, eventType, schemaVersion, service, occurredAt };
  } catch {
    return "throws";
  }
}

function peeked(bytes: Uint8Array): PeekedFields | "throws" {
  try {
    return peekFields(bytes);
  } catch {
    return "throws";
  }
}

function peekedId(bytes: Uint8Array): string | "throws" {
  try {
    return peekEventId(bytes);
  } catch {
    return "throws";
  }
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

describe("peekFields and peekEventId", () => {
  it("read what decodeEvent reads, for every kind and edge case", () => {
    for (const event of events()) {
      const bytes = encodeEvent(event);
      const expected = decoded(bytes);
      expect(peekFields(bytes)).toStrictEqual(expected);
      expect(peekFields(bytes, false)).toStrictEqual({
        ...(expected as PeekedFields),
        occurredAt: undefined,
      });
      expect(peekEventId(bytes)).toBe(event.eventId);
    }
  });

  it("throw where decodeEvent throws on bytes cut anywhere, and agree with it elsewhere", () => {
    const bytes = encodeEvent(sampleEvent());
    let throws = 0;
    for (let end = 0; end < bytes.length; end++) {
      const cut = bytes.subarray(0, end);
      const expected = decoded(cut);
      if (expected === "throws") throws++;
      expect(peeked(cut)).toStrictEqual(expected);
      expect(peekedId(cut)).toStrictEqual(expected === "throws" ? "throws" : expected.eventId);
    }
    // Most cut points fall inside a field: the check above is mostly about throwing.
    expect(throws).toBeGreaterThan(bytes.length / 2);
  });

  it("skip a field with another wire type, as decodeEvent does, and keep the last occurrence", () => {
    const event = sampleEvent();
    const bytes = concat(
      encodeEvent(event),
      [8, 7], // event_id (1) as a varint
      [18, 1, 65], // event_type (2) as a length-delimited "A"
      [29, 1, 2, 3, 4], // schema_version (3) as fixed32
      [42, 3, 110, 101, 119], // service (5) again, as a string: "new"
    );
    expect(peekFields(bytes)).toStrictEqual(decoded(bytes));
    expect(peekFields(bytes)).toMatchObject({ eventId: event.eventId, service: "new" });
    expect(peekEventId(concat(bytes, [10, 1, 120]))).toBe("x");
  });

  it("stop at an end-group tag and throw on an invalid wire type, as decodeEvent does", () => {
    const event = sampleEvent();
    const ended = concat(encodeEvent(event), [12], [10, 1, 120]); // end group (field 1), then event_id "x"
    expect(peekFields(ended)).toStrictEqual(decoded(ended));
    expect(peekEventId(ended)).toBe(event.eventId);

    const invalid = concat(encodeEvent(event), [14]); // field 1, wire type 6
    expect(decoded(invalid)).toBe("throws");
    expect(() => peekFields(invalid)).toThrow();
    expect(() => peekEventId(invalid)).toThrow();
  });
});
