import { hash } from "node:crypto";
import { encodeEventView } from "../event/encode.js";
import { encodedBy } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/**
 * The canonical encoding of an event, the bytes its chain hash is taken over: protobuf binary with
 * fields in field-number order and default values left out (what the generated encoder writes), the
 * `attributes` entries sorted by key in UTF-8 byte order, and `chain.hash` set to "". Decoding an
 * event from its protobuf bytes or its proto3 JSON and encoding it again gives the same bytes.
 * Throws an AuditInputError for a value that is not an event, as `encodeEvent` does.
 */
export function canonicalBytes(event: AuditEvent): Uint8Array {
  return encodedBy("canonicalBytes", event, withoutChainHash).slice();
}

/**
 * SHA-256, lowercase hex, of the event's canonical encoding: what `chain.hash` must hold. Throws an
 * AuditInputError for a value that is not an event, as `encodeEvent` does.
 */
export function chainHash(event: AuditEvent): string {
  // Hashes the encoder's buffer in place (no copy, and the event is not copied to empty its hash).
  // One-shot crypto.hash: half the cost of createHash for an event's few hundred bytes.
  return hash("sha256", encodedBy("chainHash", event, withoutChainHash), "hex");
}

/** The encoder's view of the event with `chain.hash` left out. */
function withoutChainHash(event: AuditEvent): Uint8Array {
  return encodeEventView(event, true);
}
