import { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/**
 * The event as proto3 JSON (lowerCamelCase keys, enum names, RFC 3339 time): the form log lines and
 * JSON broker messages carry. `eventFromJson` reads it back into an equal event.
 */
export function eventToJson(event: AuditEvent): unknown {
  return AuditEvent.toJSON(event);
}

/** Reads an event from its proto3 JSON form; unknown keys are ignored, absent fields take defaults. */
export function eventFromJson(json: unknown): AuditEvent {
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
