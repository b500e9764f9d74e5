import type { Duration } from "../gen/google/protobuf/duration.js";
import { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/**
 * The event as canonical proto3 JSON (lowerCamelCase keys, enum names, RFC 3339 time, duration as
 * "1.5s"): the form log lines and JSON broker messages carry, readable by any protobuf runtime.
 * `eventFromJson` reads it back into an equal event.
 */
export function eventToJson(event: AuditEvent): Record<string, unknown> {
  const json = AuditEvent.toJSON(event) as Record<string, unknown>;
  // ts-proto writes Duration as {seconds, nanos}; proto3 JSON wants a string of seconds.
  if (event.duration !== undefined) json.duration = durationToJson(event.duration);
  return json;
}

/** Reads an event from its proto3 JSON form; unknown keys are ignored, absent fields take defaults. */
export function eventFromJson(json: unknown): AuditEvent {
  if (
    typeof json === "object" &&
    json !== null &&
    typeof (json as { duration?: unknown }).duration === "string"
  ) {
    const { duration, ...rest } = json as { duration: string };
    return AuditEvent.fromJSON({ ...rest, duration: durationFromJson(duration) });
  }
  return AuditEvent.fromJSON(json);
}

/** Encodes the event as protobuf binary. */
export function encodeEvent(event: AuditEvent): Uint8Array {
  return AuditEvent.encode(event).finish();
}

/** Decodes an event from protobuf binary; throws on malformed input. */
export function decodeEvent(bytes: Uint8Array): AuditEvent {
  return AuditEvent.decode(bytes);
}

/** Proto3 JSON form of a non-negative Duration: "3s", "0.250s", "1.000001s", "0.000000001s". */
function durationToJson({ seconds, nanos }: Duration): string {
  if (nanos === 0) return `${seconds}s`;
  const digits = String(nanos).padStart(9, "0");
  const fraction = digits.endsWith("000000")
    ? digits.slice(0, 3)
    : digits.endsWith("000")
      ? digits.slice(0, 6)
      : digits;
  return `${seconds}.${fraction}s`;
}

const DURATION_JSON = /^(\d+)(?:\.(\d{1,9}))?s$/;

function durationFromJson(text: string): Duration {
  const match = DURATION_JSON.exec(text);
  if (match === null)
    throw new Error(`duration must look like "1.5s", got a string of length ${text.length}`);
  return { seconds: Number(match[1]), nanos: Number((match[2] ?? "").padEnd(9, "0")) };
}
