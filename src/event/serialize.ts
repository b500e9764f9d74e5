import { BinaryReader } from "@bufbuild/protobuf/wire";
import { AuditInputError, toError } from "../errors/index.js";
import type { Duration } from "../gen/google/protobuf/duration.js";
import {
  AuditEvent,
  AuditEvent_AttributesEntry,
  EventType,
  eventTypeToJSON,
} from "../gen/grpcaudit/v1/event.js";
import { encodeEventBytes } from "./encode.js";
import {
  actorToJson,
  authnToJson,
  authzToJson,
  chainToJson,
  checkpointToJson,
  type Json,
  payloadToJson,
  recordSummaryToJson,
  resourceAccessToJson,
  resourceMutationToJson,
  resultToJson,
  targetToJson,
  timestampToJson,
  tupleChangeDetailToJson,
} from "./message-json.js";

/**
 * The event as canonical proto3 JSON (lowerCamelCase keys, enum names, RFC 3339 time, duration as
 * "1.5s"): the form log lines and JSON broker messages carry, readable by any protobuf runtime.
 * `eventFromJson` reads it back into an equal event.
 *
 * Written by hand for speed, it gives the same object as ts-proto's `AuditEvent.toJSON` (same keys in
 * the same order, default values omitted) except for the duration, which ts-proto writes as
 * `{seconds, nanos}`. test/event/serialize-writer.test.ts compares the two over generated events and
 * fails when a field of the schema is not written here or in message-json.ts. Throws an
 * AuditInputError for a value that is not an event.
 */
export function eventToJson(event: AuditEvent): Record<string, unknown> {
  notAnEvent(event, "eventToJson");
  const json: Json = {};
  if (event.eventId !== "") json.eventId = event.eventId;
  if (event.eventType !== EventType.EVENT_TYPE_UNSPECIFIED) json.eventType = eventTypeToJSON(event.eventType);
  if (event.schemaVersion !== 0) json.schemaVersion = Math.round(event.schemaVersion);
  if (event.occurredAt !== undefined) json.occurredAt = timestampToJson(event.occurredAt);
  if (event.service !== "") json.service = event.service;
  if (event.operation !== "") json.operation = event.operation;
  if (event.actor !== undefined) json.actor = actorToJson(event.actor);
  if (event.target !== undefined) json.target = targetToJson(event.target);
  if (event.result !== undefined) json.result = resultToJson(event.result);
  if (event.traceId !== "") json.traceId = event.traceId;
  if (event.spanId !== "") json.spanId = event.spanId;
  if (event.requestId !== "") json.requestId = event.requestId;
  if (event.peer !== "") json.peer = event.peer;
  if (event.duration !== undefined) json.duration = durationToJson(event.duration);
  if (event.userAgent !== "") json.userAgent = event.userAgent;
  if (event.chain !== undefined) json.chain = chainToJson(event.chain);
  if (event.payload !== undefined) json.payload = payloadToJson(event.payload);
  if (hasEntries(event.attributes)) json.attributes = { ...event.attributes };
  if (event.instance !== "") json.instance = event.instance;
  const detail = event.detail;
  switch (detail?.$case) {
    case "authn":
      json.authn = authnToJson(detail.value);
      break;
    case "authz":
      json.authz = authzToJson(detail.value);
      break;
    case "tupleChange":
      json.tupleChange = tupleChangeDetailToJson(detail.value);
      break;
    case "resourceMutation":
      json.resourceMutation = resourceMutationToJson(detail.value);
      break;
    case "resourceAccess":
      json.resourceAccess = resourceAccessToJson(detail.value);
      break;
    case "checkpoint":
      json.checkpoint = checkpointToJson(detail.value);
      break;
    case "recordSummary":
      json.recordSummary = recordSummaryToJson(detail.value);
      break;
  }
  return json;
}

function hasEntries(map: Record<string, string> | undefined): map is Record<string, string> {
  if (map === undefined) return false;
  for (const _ in map) return true;
  return false;
}

/**
 * Reads an event from its proto3 JSON form; unknown keys are ignored, absent fields take defaults.
 * Throws an AuditInputError for anything but a JSON object, or a field it cannot read.
 */
export function eventFromJson(json: unknown): AuditEvent {
  // The generated reader would throw a TypeError for null and make a default event of 42 or "x".
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new AuditInputError(
      `eventFromJson: \`json\` must be an event's proto3 JSON object, got ${Array.isArray(json) ? "an array" : typeOf(json)}`,
    );
  try {
    if (typeof (json as { duration?: unknown }).duration === "string") {
      const { duration, ...rest } = json as { duration: string };
      return AuditEvent.fromJSON({ ...rest, duration: durationFromJson(duration) });
    }
    return AuditEvent.fromJSON(json);
  } catch (error) {
    throw inputError(error);
  }
}

/**
 * Encodes the event as protobuf binary, in its canonical form (docs/evidence.md): what ts-proto's
 * `AuditEvent.encode` writes, with the attributes sorted by key. Throws on a number field out of its
 * range, as the generated encoder does, and on a 64-bit one beyond ±(2^53 - 1), which the generated
 * encoder writes but no reader of the event (its decoder included) can read back. The bytes are the event's own, but, as with
 * `Buffer.allocUnsafe`, a view of a shared 8 KiB slab: keep `.slice()` of them to hold one event long
 * on its own.
 */
export function encodeEvent(event: AuditEvent): Uint8Array {
  return encodedBy("encodeEvent", event, encodeEventBytes);
}

/**
 * `encode(event)`, refusing a value that is not an event with an AuditInputError naming `caller`: not
 * an object, or a field missing or of the wrong type (a plain object from JavaScript), said so rather
 * than where the encoder broke.
 * @internal
 */
export function encodedBy<T>(caller: string, event: AuditEvent, encode: (event: AuditEvent) => T): T {
  notAnEvent(event, caller);
  try {
    return encode(event);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new AuditInputError(
      `${caller}: \`event\` is not a complete AuditEvent (AuditEvent.fromPartial fills in defaults): ${error.message}`,
      { cause: error },
    );
  }
}

/**
 * Throws an AuditInputError naming `caller` when `event` is not an object, or not one with an event's
 * id and type (strings in every AuditEvent, even at their defaults).
 * @internal
 */
export function notAnEvent(event: unknown, caller: string): void {
  if (typeof event !== "object" || event === null)
    throw new AuditInputError(`${caller}: \`event\` must be an AuditEvent, got ${typeOf(event)}`);
  const { eventId, eventType } = event as Partial<AuditEvent>;
  if (typeof eventId !== "string" || typeof eventType !== "string")
    throw new AuditInputError(
      `${caller}: \`event\` is not a complete AuditEvent (AuditEvent.fromPartial fills in defaults): it has no eventId and eventType`,
    );
}

/** A bad argument's type, never its value (a string may be a secret). */
function typeOf(value: unknown): string {
  return value === null ? "null" : typeof value;
}

/** An AuditInputError of what reading an event threw, with its message and the error as its cause. */
function inputError(error: unknown): AuditInputError {
  if (error instanceof AuditInputError) return error;
  const cause = toError(error);
  return new AuditInputError(cause.message, { cause });
}

/** Decodes an event from protobuf binary; throws an AuditInputError for anything but bytes of an event. */
export function decodeEvent(bytes: Uint8Array): AuditEvent {
  if (!(bytes instanceof Uint8Array))
    throw new AuditInputError(
      `decodeEvent: \`bytes\` must be a Uint8Array (or Buffer), got ${typeOf(bytes)}`,
    );
  let event: AuditEvent;
  try {
    event = AuditEvent.decode(bytes);
  } catch (error) {
    // Kept as the decoder says it ("invalid wire type 7 at offset 3"): ingesters give it as the reason.
    throw inputError(error);
  }
  // ts-proto's decoder assigns each map entry (`attributes[key] = value`): one keyed "__proto__", a
  // valid attribute key the Recorder keeps as an entry, would go to the prototype setter and be lost.
  if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(PROTO_KEY)) {
    event.attributes = decodeAttributes(bytes);
  }
  return event;
}

const PROTO_KEY = Buffer.from("__proto__");

/** The attributes (field 18) of bytes that decoded already, as own entries, in wire order, the last value of a key winning. */
function decodeAttributes(bytes: Uint8Array): Record<string, string> {
  const attributes: Record<string, string> = {};
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 146) {
      const { key, value } = AuditEvent_AttributesEntry.decode(reader, reader.uint32());
      Object.defineProperty(attributes, key, { value, enumerable: true, writable: true, configurable: true });
      continue;
    }
    // As the generated decoder: an end-group tag or tag 0 ends the message.
    if ((tag & 7) === 4 || tag === 0) break;
    reader.skip(tag & 7, tag >>> 3);
  }
  return attributes;
}

/** Proto3 JSON form of a non-negative Duration: "3s", "0.250s", "1.000001s", "0.000000001s". */
function durationToJson({ seconds, nanos }: Duration): string {
  if (nanos === 0) return `${seconds}s`;
  // 3, 6 or 9 fraction digits, as protobuf's JSON mapping writes them (arithmetic: no padding calls).
  const fraction =
    nanos % 1_000_000 === 0
      ? String(1000 + nanos / 1_000_000).slice(1)
      : nanos % 1000 === 0
        ? String(1_000_000 + nanos / 1000).slice(1)
        : String(1_000_000_000 + nanos).slice(1);
  return `${seconds}.${fraction}s`;
}

const DURATION_JSON = /^(\d+)(?:\.(\d{1,9}))?s$/;

function durationFromJson(text: string): Duration {
  const match = DURATION_JSON.exec(text);
  if (match === null)
    throw new AuditInputError(`duration must look like "1.5s", got a string of length ${text.length}`);
  return { seconds: Number(match[1]), nanos: Number((match[2] ?? "").padEnd(9, "0")) };
}
