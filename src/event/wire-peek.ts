import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Timestamp } from "../gen/google/protobuf/timestamp.js";
import { type AuditEvent, EventType, eventTypeFromJSON } from "../gen/grpcaudit/v1/event.js";

/**
 * The top-level fields of an event that its broker headers and spool rows carry.
 * @internal
 */
export type PeekedFields = Pick<
  AuditEvent,
  "eventId" | "eventType" | "schemaVersion" | "service" | "occurredAt"
>;

/** Tags (field number << 3 | wire type) of the AuditEvent fields read here. */
const TAG = { EVENT_ID: 10, EVENT_TYPE: 16, SCHEMA_VERSION: 24, OCCURRED_AT: 34, SERVICE: 42 } as const;

/**
 * The wire-peek module: reads a few top-level fields out of an encoded AuditEvent, skipping the rest
 * (actor, target, detail), so queued bytes can be published or spooled without a full decode.
 *
 * Both readers go through the bytes as the generated `decodeEvent` does: the last occurrence of a
 * field wins, a field with an unexpected wire type is skipped like an unknown one, an end-group tag
 * or tag 0 ends the message. Both throw (a RangeError or Error) on bytes that end in the middle of a
 * field.
 */

/**
 * The fields the broker headers carry. `occurredAt`, which only the CloudEvents `time` header needs,
 * is read only `withTime` (else undefined).
 * @internal
 */
export function peekFields(bytes: Uint8Array, withTime = true): PeekedFields {
  const fields: PeekedFields = {
    eventId: "",
    eventType: EventType.EVENT_TYPE_UNSPECIFIED,
    schemaVersion: 0,
    service: "",
    occurredAt: undefined,
  };
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === TAG.EVENT_ID) fields.eventId = reader.string();
    else if (tag === TAG.EVENT_TYPE) fields.eventType = eventTypeFromJSON(reader.int32());
    else if (tag === TAG.SCHEMA_VERSION) fields.schemaVersion = reader.uint32();
    else if (tag === TAG.SERVICE) fields.service = reader.string();
    else if (tag === TAG.OCCURRED_AT && withTime) {
      // The same conversion as the generated decoder's fromTimestamp.
      const { seconds, nanos } = Timestamp.decode(reader, reader.uint32());
      fields.occurredAt = new Date((seconds || 0) * 1_000 + (nanos || 0) / 1_000_000);
    } else if (endsMessage(tag)) break;
    else reader.skip(tag & 7);
  }
  return fields;
}

/**
 * The event id ("" when absent), for a spool row.
 * @internal
 */
export function peekEventId(bytes: Uint8Array): string {
  let eventId = "";
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === TAG.EVENT_ID) eventId = reader.string();
    else if (endsMessage(tag)) break;
    else reader.skip(tag & 7);
  }
  return eventId;
}

/** An end-group tag, or tag 0: the generated decoder stops there too. */
function endsMessage(tag: number): boolean {
  return (tag & 7) === 4 || tag === 0;
}
