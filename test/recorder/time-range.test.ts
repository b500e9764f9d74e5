import { describe, expect, it } from "vitest";
import { runInAuditScope } from "../../src/context/scope.js";
import { AuditError, AuditInputError } from "../../src/errors/index.js";
import { decodeEvent, encodeEvent, eventFromJson, eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { strictProtoJson } from "../event/strict-proto.js";
import { FIXED_MONOTONIC_MS, fixedRecorder, fixedScope } from "../helpers/recorder.js";

const MUTATION = { mutation: "create", resourceType: "project", resourceId: "p-1" } as const;
const DATE_PROBLEM = "occurredAt must be a valid Date from 0001-01-01 to 9999-12-31 (UTC)";
const DURATION_PROBLEM = "durationMs must be a finite number >= 0";

/** The event after a trip through every encoding: JSON text, protobuf bytes, and a strict protobuf reader. */
function roundTrip(event: AuditEvent) {
  const bytes = encodeEvent(event);
  return {
    fromJson: eventFromJson(JSON.parse(JSON.stringify(eventToJson(event)))),
    fromProtobuf: decodeEvent(bytes),
    strict: strictProtoJson(bytes) as { occurredAt?: string; duration?: string },
  };
}

describe("times and durations of recorded events", () => {
  it.each([
    ["NaN", { durationMs: Number.NaN }, `${DURATION_PROBLEM}, got number`],
    ["+Infinity", { durationMs: Number.POSITIVE_INFINITY }, `${DURATION_PROBLEM}, got number`],
    ["-Infinity", { durationMs: Number.NEGATIVE_INFINITY }, `${DURATION_PROBLEM}, got number`],
    ["a negative duration", { durationMs: -1 }, `${DURATION_PROBLEM}, got number`],
    ["a string duration", { durationMs: "5" }, `${DURATION_PROBLEM}, got a string of length 1`],
    ["an Invalid Date", { occurredAt: new Date(Number.NaN) }, `${DATE_PROBLEM}, got an invalid Date`],
    [
      "a date after 9999",
      { occurredAt: new Date("+010000-01-01T00:00:00.000Z") },
      `${DATE_PROBLEM}, got a Date in year 10000`,
    ],
    [
      "the last Date there is",
      { occurredAt: new Date(8.64e15) },
      `${DATE_PROBLEM}, got a Date in year 275760`,
    ],
    [
      "a date before 0001",
      { occurredAt: new Date("0000-12-31T23:59:59.999Z") },
      `${DATE_PROBLEM}, got a Date in year 0`,
    ],
    ["a date as a number", { occurredAt: Date.now() }, `${DATE_PROBLEM}, got number`],
  ] as const)("refuses %s as invalid input", (_name, fields, problem) => {
    const { recorder, memory, errors } = fixedRecorder();
    const outcome = (recorder.recordResourceMutation as (input: unknown) => string)({
      ...MUTATION,
      ...fields,
    });
    expect(outcome).toBe("failed");
    expect(memory.events).toStrictEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(AuditInputError);
    expect(errors[0]?.message).toBe(`recordResourceMutation: ${problem}`);
    expect(recorder.stats()).toMatchObject({ invalid: 1, accepted: 0 });
  });

  it.each([
    ["the first time", "0001-01-01T00:00:00.000Z", "0001-01-01T00:00:00.000Z", "0001-01-01T00:00:00Z"],
    ["the last time", "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"],
    [
      "a time before 1970, rounded down to its second",
      "1969-12-31T23:59:59.500Z",
      "1969-12-31T23:59:59.000Z",
      "1969-12-31T23:59:59Z",
    ],
    ["the epoch", "1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00Z"],
  ])("records %s as a valid protobuf Timestamp", (_name, given, kept, strict) => {
    const { recorder, memory } = fixedRecorder();
    expect(recorder.recordResourceMutation({ ...MUTATION, occurredAt: new Date(given) })).toBe("accepted");
    const event = memory.events[0] as AuditEvent;
    expect(event.occurredAt?.toISOString()).toBe(kept);
    const { fromJson, fromProtobuf, strict: strictJson } = roundTrip(event);
    expect(fromJson).toStrictEqual(event);
    expect(fromProtobuf).toStrictEqual(event);
    expect(strictJson.occurredAt).toBe(strict);
  });

  it.each([
    [
      "a duration beyond protobuf's maximum, clamped to it",
      1e300,
      { seconds: 315_576_000_000, nanos: 0 },
      "315576000000s",
    ],
    ["the largest number", Number.MAX_VALUE, { seconds: 315_576_000_000, nanos: 0 }, "315576000000s"],
    ["the maximum itself", 315_576_000_000_000, { seconds: 315_576_000_000, nanos: 0 }, "315576000000s"],
    ["a fraction of a nanosecond", 1e-7, { seconds: 0, nanos: 0 }, "0s"],
    ["a duration that rounds up to a whole second", 999.9999999, { seconds: 1, nanos: 0 }, "1s"],
    ["a day and a bit", 86_400_000.25, { seconds: 86_400, nanos: 250_000 }, "86400.000250s"],
  ])("records %s as a valid protobuf Duration", (_name, durationMs, duration, strict) => {
    const { recorder, memory } = fixedRecorder();
    expect(recorder.recordResourceMutation({ ...MUTATION, durationMs })).toBe("accepted");
    const event = memory.events[0] as AuditEvent;
    expect(event.duration).toStrictEqual(duration);
    const { fromJson, fromProtobuf, strict: strictJson } = roundTrip(event);
    expect(fromJson).toStrictEqual(event);
    expect(fromProtobuf).toStrictEqual(event);
    expect(strictJson.duration).toBe(strict);
  });

  it.each([
    ["runs backwards", FIXED_MONOTONIC_MS + 5000],
    ["gives NaN", Number.NaN],
  ])("records a zero duration when the monotonic clock %s", (_name, startedAtMs) => {
    const { recorder, memory } = fixedRecorder();
    const outcome = runInAuditScope(fixedScope({ startedAtMs }), () =>
      recorder.recordResourceMutation(MUTATION),
    );
    expect(outcome).toBe("accepted");
    expect(memory.events[0]?.duration).toStrictEqual({ seconds: 0, nanos: 0 });
  });

  it.each([
    ["an Invalid Date", () => new Date(Number.NaN)],
    ["a date after 9999", () => new Date(8.64e15)],
    ["no Date", () => Date.now() as unknown as Date],
    [
      "a throw",
      () => {
        throw new Error("clock broke");
      },
    ],
  ])("counts an event as failed when the Recorder's clock gives %s", (_name, now) => {
    const { recorder, memory, errors } = fixedRecorder({ now });
    expect(recorder.recordResourceMutation(MUTATION)).toBe("failed");
    expect(memory.events).toStrictEqual([]);
    expect(errors.map((error) => [error.constructor, error.message])).toStrictEqual([
      [AuditError, "recorder: the event could not be built"],
    ]);
    expect(recorder.stats()).toMatchObject({ failed: 1, invalid: 0, accepted: 0 });
  });
});
