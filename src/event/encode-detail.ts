import type {
  AuditEvent,
  AuthnDetail,
  AuthzDetail,
  ChainCheckpointDetail,
  RecordSummaryDetail,
  ResourceAccessDetail,
  ResourceMutationDetail,
  TupleChange,
  TupleChangeDetail,
  TupleCondition,
} from "../gen/grpcaudit/v1/event.js";
import {
  authnFailureReasonToNumber,
  authzDecisionToNumber,
  mutationTypeToNumber,
  tupleOperationToNumber,
} from "../gen/grpcaudit/v1/event.js";
import type { WireBuffer } from "./wire-buffer.js";

// The `detail` oneof of AuditEvent (fields 20-26) for the hand-written encoder (encode.ts).

/** Writes the detail message the event has, if any (an unknown case is left out, as ts-proto does). */
export function writeDetail(buffer: WireBuffer, detail: AuditEvent["detail"]): void {
  switch (detail?.$case) {
    case "authn":
      writeAuthn(buffer, detail.value);
      break;
    case "authz":
      writeAuthz(buffer, detail.value);
      break;
    case "tupleChange":
      writeTupleChangeDetail(buffer, detail.value);
      break;
    case "resourceMutation":
      writeResourceMutation(buffer, detail.value);
      break;
    case "resourceAccess":
      writeResourceAccess(buffer, detail.value);
      break;
    case "checkpoint":
      writeCheckpoint(buffer, detail.value);
      break;
    case "recordSummary":
      writeRecordSummary(buffer, detail.value);
      break;
  }
}

/** A google.protobuf.Timestamp field, as ts-proto converts a Date (negative nanos before 1970 included). */
export function writeTimestamp(buffer: WireBuffer, tag: number, date: Date): void {
  const ms = date.getTime();
  const seconds = Math.trunc(ms / 1_000);
  const nanos = (ms % 1_000) * 1_000_000;
  buffer.tag(tag);
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

function writeAuthn(buffer: WireBuffer, authn: AuthnDetail): void {
  buffer.tag(162);
  const start = buffer.fork();
  buffer.stringField(10, authn.method);
  buffer.boolField(16, authn.success);
  buffer.enumField(24, authnFailureReasonToNumber(authn.failureReason));
  buffer.join(start);
}

function writeAuthz(buffer: WireBuffer, authz: AuthzDetail): void {
  buffer.tag(170);
  const start = buffer.fork();
  buffer.stringField(10, authz.relation);
  buffer.stringField(18, authz.objectType);
  buffer.stringField(26, authz.objectId);
  buffer.enumField(32, authzDecisionToNumber(authz.decision));
  buffer.boolField(40, authz.cacheHit);
  buffer.stringField(50, authz.errorReason);
  buffer.stringField(58, authz.storeId);
  buffer.stringField(66, authz.modelId);
  buffer.stringField(74, authz.user); // field 9; left out when empty, so older events hash as before
  buffer.join(start);
}

function writeTupleChangeDetail(buffer: WireBuffer, detail: TupleChangeDetail): void {
  buffer.tag(178);
  const start = buffer.fork();
  for (const tuple of detail.tuples) writeTuple(buffer, tuple);
  buffer.stringField(18, detail.storeId);
  buffer.stringField(26, detail.modelId);
  buffer.join(start);
}

function writeTuple(buffer: WireBuffer, tuple: TupleChange): void {
  buffer.tag(10);
  const start = buffer.fork();
  buffer.enumField(8, tupleOperationToNumber(tuple.operation));
  buffer.stringField(18, tuple.user);
  buffer.stringField(26, tuple.relation);
  buffer.stringField(34, tuple.object);
  buffer.boolField(40, tuple.success);
  buffer.stringField(50, tuple.errorReason);
  if (tuple.condition !== undefined) writeCondition(buffer, tuple.condition);
  buffer.join(start);
}

function writeCondition(buffer: WireBuffer, condition: TupleCondition): void {
  buffer.tag(58);
  const start = buffer.fork();
  buffer.stringField(10, condition.name);
  // A repeated string keeps its empty entries, as ts-proto writes them.
  for (const key of condition.contextKeys) {
    buffer.tag(18);
    buffer.string(key);
  }
  buffer.join(start);
}

function writeResourceMutation(buffer: WireBuffer, mutation: ResourceMutationDetail): void {
  buffer.tag(186);
  const start = buffer.fork();
  buffer.enumField(8, mutationTypeToNumber(mutation.mutation));
  buffer.stringField(18, mutation.resourceType);
  buffer.stringField(26, mutation.resourceId);
  buffer.join(start);
}

function writeResourceAccess(buffer: WireBuffer, access: ResourceAccessDetail): void {
  buffer.tag(194);
  const start = buffer.fork();
  buffer.stringField(10, access.resourceType);
  buffer.stringField(18, access.resourceId);
  buffer.join(start);
}

function writeCheckpoint(buffer: WireBuffer, checkpoint: ChainCheckpointDetail): void {
  buffer.tag(202);
  const start = buffer.fork();
  if (checkpoint.headSeq !== 0) {
    buffer.tag(8);
    buffer.uint64(checkpoint.headSeq);
  }
  buffer.stringField(18, checkpoint.headHash);
  buffer.stringField(26, checkpoint.keyId);
  buffer.stringField(34, checkpoint.signature);
  buffer.boolField(40, checkpoint.final);
  buffer.join(start);
}

function writeRecordSummary(buffer: WireBuffer, summary: RecordSummaryDetail): void {
  buffer.tag(210);
  const start = buffer.fork();
  if (summary.since !== undefined) writeTimestamp(buffer, 10, summary.since);
  for (const count of summary.counts) {
    buffer.tag(18);
    const entry = buffer.fork();
    buffer.stringField(10, count.kind);
    buffer.stringField(18, count.actorId);
    buffer.stringField(26, count.operation);
    if (count.count !== 0) {
      buffer.tag(32);
      buffer.uint64(count.count);
    }
    buffer.join(entry);
  }
  if (summary.overflow !== 0) {
    buffer.tag(24);
    buffer.uint64(summary.overflow);
  }
  buffer.join(start);
}
