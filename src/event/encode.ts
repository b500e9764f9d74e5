import type { Duration } from "../gen/google/protobuf/duration.js";
import {
  type Actor,
  type AuditEvent,
  actorTypeToNumber,
  type Chain,
  eventTypeToNumber,
  type Payload,
  payloadCaptureToNumber,
  type Result,
  type Target,
} from "../gen/grpcaudit/v1/event.js";
import { writeDetail, writeTimestamp } from "./encode-detail.js";
import { WireBuffer } from "./wire-buffer.js";

// The protobuf encoder of AuditEvent, by hand: the generated one (a BinaryWriter call per field, a
// fork/join per message) was most of the tamper-evident chain's cost per event. It writes what
// ts-proto's `AuditEvent.encode` writes (fields in number order, defaults left out, its enum numbers,
// -1 for an unknown enum name) and throws where it throws, with one difference: the attributes are
// sorted by key in UTF-8 byte order, the canonical form of docs/evidence.md, which is still valid
// protobuf. test/event/encode.test.ts holds the two to the same bytes over generated events.
//
// Tags are `field << 3 | wire type`: 0 for varints, 2 for strings and messages.

const buffer = new WireBuffer();

/**
 * The event's canonical protobuf bytes in the encoder's reused buffer: a view valid only until the next
 * call, so read it (hash it, copy it) at once. `withoutChainHash` leaves `chain.hash` out, as the chain
 * hash is taken over the event with that field empty.
 */
export function encodeEventView(event: AuditEvent, withoutChainHash = false): Uint8Array {
  buffer.reset();
  writeEvent(event, withoutChainHash);
  return buffer.view();
}

/** The event's canonical protobuf bytes, in a Uint8Array of their own (a view of a shared slab). */
export function encodeEventBytes(event: AuditEvent): Uint8Array {
  buffer.reset();
  writeEvent(event, false);
  return buffer.take();
}

function writeEvent(event: AuditEvent, withoutChainHash: boolean): void {
  buffer.stringField(10, event.eventId);
  buffer.enumField(16, eventTypeToNumber(event.eventType));
  if (event.schemaVersion !== 0) {
    buffer.tag(24);
    buffer.uint32(event.schemaVersion);
  }
  if (event.occurredAt !== undefined) writeTimestamp(buffer, 34, event.occurredAt);
  buffer.stringField(42, event.service);
  buffer.stringField(50, event.operation);
  if (event.actor !== undefined) writeActor(event.actor);
  if (event.target !== undefined) writeTarget(event.target);
  if (event.result !== undefined) writeResult(event.result);
  buffer.stringField(82, event.traceId);
  buffer.stringField(90, event.spanId);
  buffer.stringField(98, event.requestId);
  buffer.stringField(106, event.peer);
  if (event.duration !== undefined) writeDuration(event.duration);
  buffer.stringField(122, event.userAgent);
  if (event.chain !== undefined) writeChain(event.chain, withoutChainHash);
  if (event.payload !== undefined) writePayload(event.payload);
  writeAttributes(event.attributes);
  buffer.stringField(154, event.instance);
  writeDetail(buffer, event.detail);
}

/** Field 14, google.protobuf.Duration. */
function writeDuration(duration: Duration): void {
  buffer.tag(114);
  const start = buffer.fork();
  if (duration.seconds !== 0) {
    buffer.tag(8);
    buffer.int64(duration.seconds);
  }
  if (duration.nanos !== 0) {
    buffer.tag(16);
    buffer.int32(duration.nanos);
  }
  buffer.join(start);
}

function writeActor(actor: Actor): void {
  buffer.tag(58);
  const start = buffer.fork();
  buffer.stringField(10, actor.id);
  buffer.enumField(16, actorTypeToNumber(actor.type));
  buffer.stringField(26, actor.displayName);
  buffer.stringField(34, actor.email);
  buffer.stringField(42, actor.subject);
  buffer.stringField(50, actor.clientId);
  buffer.stringField(58, actor.realm);
  buffer.join(start);
}

function writeTarget(target: Target): void {
  buffer.tag(66);
  const start = buffer.fork();
  buffer.stringField(10, target.type);
  buffer.stringField(18, target.id);
  buffer.stringField(26, target.name);
  buffer.join(start);
}

function writeResult(result: Result): void {
  buffer.tag(74);
  const start = buffer.fork();
  buffer.boolField(8, result.success);
  buffer.stringField(18, result.code);
  buffer.stringField(26, result.message);
  buffer.join(start);
}

function writeChain(chain: Chain, withoutHash: boolean): void {
  buffer.tag(130);
  const start = buffer.fork();
  buffer.stringField(10, chain.chainId);
  if (chain.seq !== 0) {
    buffer.tag(16);
    buffer.uint64(chain.seq);
  }
  buffer.stringField(26, chain.prevHash);
  if (!withoutHash) buffer.stringField(34, chain.hash);
  buffer.join(start);
}

function writePayload(payload: Payload): void {
  buffer.tag(138);
  const start = buffer.fork();
  buffer.enumField(8, payloadCaptureToNumber(payload.capture));
  buffer.stringField(18, payload.keyId);
  buffer.stringField(26, payload.requestDigest);
  buffer.stringField(34, payload.responseDigest);
  if (payload.requestCount !== 0) {
    buffer.tag(40);
    buffer.uint32(payload.requestCount);
  }
  if (payload.responseCount !== 0) {
    buffer.tag(48);
    buffer.uint32(payload.responseCount);
  }
  buffer.stringField(58, payload.requestJson);
  buffer.stringField(66, payload.responseJson);
  buffer.join(start);
}

/** Field 18, one entry message per key, in UTF-8 byte order of the keys. */
function writeAttributes(attributes: Record<string, string>): void {
  const keys = Object.keys(attributes);
  if (keys.length === 0) return;
  for (const key of keys.length === 1 ? keys : sortByUtf8(keys)) {
    buffer.tag(146);
    const start = buffer.fork();
    buffer.stringField(10, key);
    buffer.stringField(18, attributes[key] ?? "");
    buffer.join(start);
  }
}

// Below U+D800, UTF-16 unit order (JavaScript's default sort) is UTF-8 byte order; past it, it is not.
const SURROGATE_OR_ABOVE = /[\uD800-\uFFFF]/;

/** Sorts the keys in UTF-8 byte order; keys with equal bytes keep their order (the sort is stable). */
function sortByUtf8(keys: string[]): string[] {
  if (!keys.some((key) => SURROGATE_OR_ABOVE.test(key))) return keys.sort();
  return keys
    .map((key) => ({ key, bytes: Buffer.from(key, "utf8") }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ key }) => key);
}
