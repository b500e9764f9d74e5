import { hash } from "node:crypto";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { AuditEvent, AuditEvent_AttributesEntry } from "../gen/grpcaudit/v1/event.js";

/** Tag of `AuditEvent.attributes` (field 18, length-delimited). */
const ATTRIBUTES_TAG = (18 << 3) | 2;

// Reused across calls (as encodeEvent does): a fresh writer regrows its buffer for every event.
let writer = new BinaryWriter();

/**
 * The canonical encoding of an event, the bytes its chain hash is taken over: protobuf binary with
 * fields in field-number order and default values left out (what the generated encoder writes), the
 * `attributes` entries sorted by key in UTF-8 byte order, and `chain.hash` set to "". Decoding an
 * event from its protobuf bytes or its proto3 JSON and encoding it again gives the same bytes.
 */
export function canonicalBytes(event: AuditEvent): Uint8Array {
  // The Recorder links events with `hash: ""` already: no copies on its path, only for a verifier's.
  const chain =
    event.chain === undefined || event.chain.hash === "" ? event.chain : { ...event.chain, hash: "" };
  try {
    const keys = sortedKeys(event.attributes);
    // Without attributes the generated encoder's bytes are canonical as they are.
    if (keys.length === 0) {
      return AuditEvent.encode(chain === event.chain ? event : { ...event, chain }, writer).finish();
    }
    // It writes attributes in object order, which puts integer-like keys first: fields 1-17 first,
    // then the sorted entries by hand, then the detail (fields 20-25).
    AuditEvent.encode({ ...event, chain, attributes: {}, detail: undefined }, writer);
    for (const key of keys) {
      const value = event.attributes[key] ?? "";
      AuditEvent_AttributesEntry.encode({ key, value }, writer.uint32(ATTRIBUTES_TAG).fork()).join();
    }
    if (event.detail !== undefined) AuditEvent.encode({ ...EMPTY, detail: event.detail }, writer);
    return writer.finish();
  } catch (error) {
    writer = new BinaryWriter(); // a throw mid-encode leaves a half-written message in the writer
    throw error;
  }
}

/** SHA-256, lowercase hex, of the event's canonical encoding: what `chain.hash` must hold. */
export function chainHash(event: AuditEvent): string {
  // One-shot crypto.hash: half the cost of createHash for an event's few hundred bytes.
  return hash("sha256", canonicalBytes(event), "hex");
}

/** An event with every field at its default: encodes to no bytes. */
const EMPTY: AuditEvent = AuditEvent.fromPartial({});

const encoder = new TextEncoder();

/** The map's keys in UTF-8 byte order (JavaScript's own sort compares UTF-16 code units). */
function sortedKeys(map: Record<string, string>): string[] {
  const keys = Object.keys(map);
  if (keys.length < 2) return keys;
  return keys
    .map((key) => ({ key, bytes: encoder.encode(key) }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ key }) => key);
}
