import { Timestamp } from "../../src/gen/google/protobuf/timestamp.js";
import { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";

/** 10^15 seconds: a time protobuf can carry, a thousand times past the last a JavaScript Date holds. */
export const FAR_SECONDS = 1_000_000_000_000_000;

/**
 * `event` as protobuf with, as its detail, a record summary whose `since` is FAR_SECONDS after 1970:
 * what another producer may send. ts-proto decodes that `since` as an invalid Date.
 */
export function withFarSince(event: AuditEvent): Uint8Array {
  const writer = AuditEvent.encode({ ...event, detail: undefined });
  writer.uint32((26 << 3) | 2).fork(); // record_summary = 26
  Timestamp.encode({ seconds: FAR_SECONDS, nanos: 0 }, writer.uint32((1 << 3) | 2).fork()).join(); // since = 1
  writer.join();
  return writer.finish();
}
