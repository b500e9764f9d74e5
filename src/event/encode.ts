import type { Duration } from "../gen/google/protobuf/duration.js";
import {
  type Actor,
  type AuditEvent,
  type AuthnDetail,
  type AuthzDetail,
  actorTypeToNumber,
  authnFailureReasonToNumber,
  authzDecisionToNumber,
  type Chain,
  type ChainCheckpointDetail,
  eventTypeToNumber,
  mutationTypeToNumber,
  type Payload,
  payloadCaptureToNumber,
  type ResourceAccessDetail,
  type ResourceMutationDetail,
  type Result,
  type Target,
  type TupleChange,
  type TupleChangeDetail,
  tupleOperationToNumber,
} from "../gen/grpcaudit/v1/event.js";
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
export function encodeEventCopy(event: AuditEvent): Uint8Array {
  buffer.reset();
  writeEvent(event, false);
  return buffer.take();
}

function stringField(tag: number, value: string): void {
  if (value === "") return;
  buffer.tag(tag);
  buffer.string(value);
}

function boolField(tag: number, value: boolean): void {
  if (value === false) return;
  buffer.tag(tag);
  buffer.bool(value);
}

function enumField(tag: number, number: number): void {
  if (number === 0) return; // only the …_UNSPECIFIED name maps to 0
  buffer.tag(tag);
  buffer.int32(number);
}

function writeEvent(event: AuditEvent, withoutChainHash: boolean): void {
  stringField(10, event.eventId);
  enumField(16, eventTypeToNumber(event.eventType));
  if (event.schemaVersion !== 0) {
    buffer.tag(24);
    buffer.uint32(event.schemaVersion);
  }
  if (event.occurredAt !== undefined) writeTimestamp(event.occurredAt);
  stringField(42, event.service);
  stringField(50, event.operation);
  if (event.actor !== undefined) writeActor(event.actor);
  if (event.target !== undefined) writeTarget(event.target);
  if (event.result !== undefined) writeResult(event.result);
  stringField(82, event.traceId);
  stringField(90, event.spanId);
  stringField(98, event.requestId);
  stringField(106, event.peer);
  if (event.duration !== undefined) writeDuration(event.duration);
  stringField(122, event.userAgent);
  if (event.chain !== undefined) writeChain(event.chain, withoutChainHash);
  if (event.payload !== undefined) writePayload(event.payload);
  writeAttributes(event.attributes);
  const detail = event.detail;
  switch (detail?.$case) {
    case "authn":
      writeAuthn(detail.value);
      break;
    case "authz":
      writeAuthz(detail.value);
      break;
    case "tupleChange":
      writeTupleChangeDetail(detail.value);
      break;
    case "resourceMutation":
      writeResourceMutation(detail.value);
      break;
    case "resourceAccess":
      writeResourceAccess(detail.value);
      break;
    case "checkpoint":
      writeCheckpoint(detail.value);
      break;
  }
}

/** Field 4, google.protobuf.Timestamp, as ts-proto converts a Date (negative nanos before 1970 included). */
function writeTimestamp(date: Date): void {
  const ms = date.getTime();
  const seconds = Math.trunc(ms / 1_000);
  const nanos = (ms % 1_000) * 1_000_000;
  buffer.tag(34);
  const start = buffer.fork();
  if (seconds !== 0) {
    buffer.tag(8);
    buffer.int64(seconds);
  }
  if (nanos !== 0) {
    buffer.tag(16);
    buffer.int32(nanos);
  }
  buffer.join(start);
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
  stringField(10, actor.id);
  enumField(16, actorTypeToNumber(actor.type));
  stringField(26, actor.displayName);
  stringField(34, actor.email);
  stringField(42, actor.subject);
  stringField(50, actor.clientId);
  stringField(58, actor.realm);
  buffer.join(start);
}

function writeTarget(target: Target): void {
  buffer.tag(66);
  const start = buffer.fork();
  stringField(10, target.type);
  stringField(18, target.id);
  stringField(26, target.name);
  buffer.join(start);
}

function writeResult(result: Result): void {
  buffer.tag(74);
  const start = buffer.fork();
  boolField(8, result.success);
  stringField(18, result.code);
  stringField(26, result.message);
  buffer.join(start);
}

function writeChain(chain: Chain, withoutHash: boolean): void {
  buffer.tag(130);
  const start = buffer.fork();
  stringField(10, chain.chainId);
  if (chain.seq !== 0) {
    buffer.tag(16);
    buffer.uint64(chain.seq);
  }
  stringField(26, chain.prevHash);
  if (!withoutHash) stringField(34, chain.hash);
  buffer.join(start);
}

function writePayload(payload: Payload): void {
  buffer.tag(138);
  const start = buffer.fork();
  enumField(8, payloadCaptureToNumber(payload.capture));
  stringField(18, payload.keyId);
  stringField(26, payload.requestDigest);
  stringField(34, payload.responseDigest);
  if (payload.requestCount !== 0) {
    buffer.tag(40);
    buffer.uint32(payload.requestCount);
  }
  if (payload.responseCount !== 0) {
    buffer.tag(48);
    buffer.uint32(payload.responseCount);
  }
  stringField(58, payload.requestJson);
  stringField(66, payload.responseJson);
  buffer.join(start);
}

/** Field 18, one entry message per key, in UTF-8 byte order of the keys. */
function writeAttributes(attributes: Record<string, string>): void {
  const keys = Object.keys(attributes);
  if (keys.length === 0) return;
  for (const key of keys.length === 1 ? keys : sortByUtf8(keys)) {
    buffer.tag(146);
    const start = buffer.fork();
    stringField(10, key);
    stringField(18, attributes[key] ?? "");
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

function writeAuthn(authn: AuthnDetail): void {
  buffer.tag(162);
  const start = buffer.fork();
  stringField(10, authn.method);
  boolField(16, authn.success);
  enumField(24, authnFailureReasonToNumber(authn.failureReason));
  buffer.join(start);
}

function writeAuthz(authz: AuthzDetail): void {
  buffer.tag(170);
  const start = buffer.fork();
  stringField(10, authz.relation);
  stringField(18, authz.objectType);
  stringField(26, authz.objectId);
  enumField(32, authzDecisionToNumber(authz.decision));
  boolField(40, authz.cacheHit);
  stringField(50, authz.errorReason);
  stringField(58, authz.storeId);
  stringField(66, authz.modelId);
  buffer.join(start);
}

function writeTupleChangeDetail(detail: TupleChangeDetail): void {
  buffer.tag(178);
  const start = buffer.fork();
  for (const tuple of detail.tuples) writeTuple(tuple);
  stringField(18, detail.storeId);
  stringField(26, detail.modelId);
  buffer.join(start);
}

function writeTuple(tuple: TupleChange): void {
  buffer.tag(10);
  const start = buffer.fork();
  enumField(8, tupleOperationToNumber(tuple.operation));
  stringField(18, tuple.user);
  stringField(26, tuple.relation);
  stringField(34, tuple.object);
  boolField(40, tuple.success);
  stringField(50, tuple.errorReason);
  buffer.join(start);
}

function writeResourceMutation(mutation: ResourceMutationDetail): void {
  buffer.tag(186);
  const start = buffer.fork();
  enumField(8, mutationTypeToNumber(mutation.mutation));
  stringField(18, mutation.resourceType);
  stringField(26, mutation.resourceId);
  buffer.join(start);
}

function writeResourceAccess(access: ResourceAccessDetail): void {
  buffer.tag(194);
  const start = buffer.fork();
  stringField(10, access.resourceType);
  stringField(18, access.resourceId);
  buffer.join(start);
}

function writeCheckpoint(checkpoint: ChainCheckpointDetail): void {
  buffer.tag(202);
  const start = buffer.fork();
  if (checkpoint.headSeq !== 0) {
    buffer.tag(8);
    buffer.uint64(checkpoint.headSeq);
  }
  stringField(18, checkpoint.headHash);
  stringField(26, checkpoint.keyId);
  stringField(34, checkpoint.signature);
  boolField(40, checkpoint.final);
  buffer.join(start);
}
