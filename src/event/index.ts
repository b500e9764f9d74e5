/**
 * The audit event: its type (generated from proto/grpcaudit/v1/event.proto), its kinds, ids, the
 * builders that turn TypeScript input into proto shapes, and serialisation. Imports nothing of ours but
 * the generated code; it does not record or deliver anything.
 */

export type { Duration } from "../gen/google/protobuf/duration.js";
export {
  type Actor,
  ActorType,
  AuditEvent,
  type AuthnDetail,
  AuthnFailureReason,
  AuthzDecision,
  type AuthzDetail,
  type Chain,
  type ChainCheckpointDetail,
  EventType,
  MutationType,
  type Payload,
  PayloadCapture,
  type RecordSummaryDetail,
  type ResourceAccessDetail,
  type ResourceMutationDetail,
  type Result,
  type SkippedCount as RecordSummaryCount,
  type Target,
  type TupleChange,
  type TupleChangeDetail,
  type TupleCondition,
  TupleOperation,
} from "../gen/grpcaudit/v1/event.js";
export {
  type ActorInput,
  type ActorKind,
  type AuthnFailureCode,
  type AuthzOutcome,
  type MutationKind,
  type ResultInput,
  SCHEMA_VERSION,
  type TargetInput,
  type TupleOperationKind,
} from "./builders.js";
export { EVENT_KIND, type EventKind, eventKind } from "./kinds.js";
export { decodeEvent, encodeEvent, eventFromJson, eventToJson } from "./serialize.js";
