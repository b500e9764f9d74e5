import type {
  AuditEvent,
  AuthnDetail,
  AuthzDetail,
  ChainCheckpointDetail,
  ResourceAccessDetail,
  ResourceMutationDetail,
  TupleChange,
  TupleChangeDetail,
} from "../gen/grpcaudit/v1/event.js";
import {
  authnFailureReasonToNumber,
  authzDecisionToNumber,
  mutationTypeToNumber,
  tupleOperationToNumber,
} from "../gen/grpcaudit/v1/event.js";
import type { WireBuffer } from "./wire-buffer.js";

// The `detail` oneof of AuditEvent (fields 20-25) for the hand-written encoder (encode.ts).

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
  }
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
