import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/**
 * Earliest time a protobuf Timestamp may hold, 0001-01-01T00:00:00Z, in ms since the epoch.
 * @internal
 */
export const MIN_EVENT_TIME_MS = -62_135_596_800_000;

/**
 * Latest time a protobuf Timestamp may hold (to the millisecond), 9999-12-31T23:59:59.999Z.
 * @internal
 */
export const MAX_EVENT_TIME_MS = 253_402_300_799_999;

/**
 * Longest duration a protobuf Duration may hold, 315,576,000,000 s (10,000 years), in ms.
 * @internal
 */
export const MAX_DURATION_MS = 315_576_000_000_000;

/** True when `ms` is a time an event can carry: within 0001-01-01 and 9999-12-31 (UTC). */
export function isEventTime(ms: number): boolean {
  return ms >= MIN_EVENT_TIME_MS && ms <= MAX_EVENT_TIME_MS; // false for NaN
}

/**
 * The Date an event carries for a Date whose time `isEventTime` accepts: `date` itself from 1970 on;
 * before 1970 a new Date rounded down to the whole second, because ts-proto encodes the milliseconds
 * of such a time as negative nanos, which protobuf forbids and other runtimes reject.
 */
export function eventDate(date: Date): Date {
  const ms = date.getTime();
  return ms >= 0 ? date : new Date(ms - (((ms % 1000) + 1000) % 1000));
}

/**
 * Why a decoded event's times cannot be read: the first Timestamp field it carries (`occurredAt`, a
 * record summary's `since`; test/event/event-times.test.ts fails when the schema gains another) that
 * is an invalid Date. Protobuf's seconds reach far past what a Date holds (±8.64e15 ms); ts-proto
 * decodes such a time, and reads an unreadable JSON time, as an invalid Date, on which `eventToJson`
 * throws. Undefined when every time present is valid; whether an event must have an `occurredAt` is
 * for the caller to say.
 * @internal
 */
export function invalidTime(event: AuditEvent): string | undefined {
  return invalidTimeMs(event.occurredAt?.getTime(), sinceMs(event));
}

/**
 * `invalidTime` of the times in ms (NaN for an invalid Date, undefined for an absent field), for a
 * reader of the encoded event that builds no Date.
 * @internal
 */
export function invalidTimeMs(
  occurredAtMs: number | undefined,
  sinceMs: number | undefined,
): string | undefined {
  if (Number.isNaN(occurredAtMs)) return notADate("occurredAt");
  if (Number.isNaN(sinceMs)) return notADate("recordSummary.since");
  return undefined;
}

/**
 * Why an event's times cannot be stored: `invalidTime`'s answer, else the first time a Date holds but
 * a protobuf Timestamp does not (before 0001-01-01 or after 9999-12-31 UTC, which the Recorder
 * refuses): stored, it would read back as "+020000-01-01T00:00:00.000Z", which no RFC 3339 reader
 * takes. The reason names the field and the time.
 * @internal
 */
export function unstorableTime(event: AuditEvent): string | undefined {
  return unstorableTimeMs(event.occurredAt?.getTime(), sinceMs(event));
}

/** `unstorableTime` of the times in ms, as `invalidTimeMs` takes them. @internal */
export function unstorableTimeMs(
  occurredAtMs: number | undefined,
  sinceMs: number | undefined,
): string | undefined {
  return (
    invalidTimeMs(occurredAtMs, sinceMs) ??
    outOfRange("occurredAt", occurredAtMs) ??
    outOfRange("recordSummary.since", sinceMs)
  );
}

function sinceMs(event: AuditEvent): number | undefined {
  const detail = event.detail;
  return detail?.$case === "recordSummary" ? detail.value.since?.getTime() : undefined;
}

function notADate(field: string): string {
  return `the event's ${field} is not a time a JavaScript Date can hold`;
}

function outOfRange(field: string, ms: number | undefined): string | undefined {
  if (ms === undefined || isEventTime(ms)) return undefined;
  return `the event's ${field} ${new Date(ms).toISOString()} is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z, the range of a protobuf Timestamp`;
}
