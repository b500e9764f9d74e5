import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { eventFromJson, eventToJson } from "../../src/event/serialize.js";
import type { Duration } from "../../src/gen/google/protobuf/duration.js";
import { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { DETAIL_CASES, type Detail, event, Random } from "./generate-event.js";

// eventToJson is written by hand for speed. These tests hold it to ts-proto's AuditEvent.toJSON (with
// the duration as proto3 JSON text) over generated events, and check that the generators below set
// every field of the schema: a field or oneof case added to event.proto fails here until both the
// generators (generate-event.ts) and eventToJson handle it.

/** The value eventToJson must give: ts-proto's toJSON, with the duration as "1.5s". */
function referenceJson(event: AuditEvent): Record<string, unknown> {
  const json = AuditEvent.toJSON(event) as Record<string, unknown>;
  if (event.duration !== undefined) json.duration = durationText(event.duration);
  return json;
}

/** Proto3 JSON duration text, written differently from src/: trailing groups of "000" dropped. */
function durationText({ seconds, nanos }: Duration): string {
  const fraction = String(nanos)
    .padStart(9, "0")
    .replace(/(?:000)+$/, "");
  return fraction === "" ? `${seconds}s` : `${seconds}.${fraction}s`;
}

/** Every field of `message`, at every level, appears in its ts-proto JSON (which omits defaults). */
function expectEveryFieldWritten(message: object, json: unknown, path: string): void {
  expect(json, path).toBeTypeOf("object");
  for (const [key, value] of Object.entries(message)) {
    if (key === "detail") {
      const { $case, value: inner } = value as Detail;
      expectEveryFieldWritten(inner, (json as Record<string, unknown>)[$case], `${path}.${$case}`);
      continue;
    }
    expect(json, `${path}.${key}`).toHaveProperty([key]);
    const written = (json as Record<string, unknown>)[key];
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        // A repeated scalar (a string) is written whole, empty entries included.
        if (typeof item !== "object") expect((written as unknown[])[i], `${path}.${key}[${i}]`).toBe(item);
        else expectEveryFieldWritten(item, (written as unknown[])[i], `${path}.${key}[${i}]`);
      }
    } else if (typeof value === "object" && !(value instanceof Date) && key !== "duration") {
      expectEveryFieldWritten(value, written, `${path}.${key}`);
    }
  }
}

/** The oneof cases the generated decoder knows, found by trying every field number up to 2047. */
function decodedDetailCases(): string[] {
  const cases: string[] = [];
  for (let field = 1; field < 2048; field++) {
    const bytes = new BinaryWriter()
      .uint32((field << 3) | 2)
      .uint32(0)
      .finish();
    const decoded = AuditEvent.decode(bytes).detail;
    if (decoded !== undefined) cases.push(decoded.$case);
  }
  return cases.sort();
}

describe("eventToJson against ts-proto's AuditEvent.toJSON", () => {
  it("has a generator for every oneof case of the schema", () => {
    expect(decodedDetailCases()).toStrictEqual([...DETAIL_CASES].sort());
  });

  it.each(DETAIL_CASES)("generates %s events that set every field of the schema, at every level", (only) => {
    const r = new Random(7);
    for (let i = 0; i < 20; i++) {
      const full = event(r, 0, only);
      // fromPartial fills in every field the schema has: nothing is added when the generator set them all.
      expect(AuditEvent.fromPartial(full)).toStrictEqual(full);
      expectEveryFieldWritten(full, AuditEvent.toJSON(full), "event");
    }
  });

  it("writes the same object, keys in the same order, for 10,000 generated events", () => {
    const r = new Random(20261123);
    for (let i = 0; i < 10_000; i++) {
      const generated = event(r, r.pick([0, 0.1, 0.5, 0.9, 1]));
      const expected = referenceJson(generated);
      const json = eventToJson(generated);
      expect(json, `event ${i}`).toStrictEqual(expected);
      expect(JSON.stringify(json), `event ${i}`).toBe(JSON.stringify(expected));
    }
  });

  it("writes times that share a second with the previous event exactly as toISOString does", () => {
    const base = Date.UTC(2026, 10, 23, 10, 0, 0);
    for (const ms of [0, 1, 9, 10, 99, 100, 999, 1000, 998, 1999, 2000, -1, -1000, -999]) {
      const occurredAt = new Date(base + ms);
      expect(eventToJson(AuditEvent.fromPartial({ occurredAt })).occurredAt).toBe(occurredAt.toISOString());
    }
  });

  it("throws a RangeError for an invalid time, like toISOString, also right after a valid one", () => {
    eventToJson(AuditEvent.fromPartial({ occurredAt: new Date() }));
    const invalid = AuditEvent.fromPartial({ occurredAt: new Date(Number.NaN) });
    expect(() => AuditEvent.toJSON(invalid)).toThrow(RangeError);
    expect(() => eventToJson(invalid)).toThrow(RangeError);
  });

  it("reads back every generated event whose values proto3 JSON can carry", () => {
    const r = new Random(42);
    for (let i = 0; i < 2_000; i++) {
      const generated = AuditEvent.fromJSON(AuditEvent.toJSON(event(r, r.pick([0, 0.5]))));
      expect(eventFromJson(JSON.parse(JSON.stringify(eventToJson(generated)))), `event ${i}`).toStrictEqual(
        generated,
      );
    }
  });
});
