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
  EventType,
  MutationType,
  type ResourceMutationDetail,
  type Result,
  type Target,
  type TupleChange,
  type TupleChangeDetail,
  TupleOperation,
} from "../gen/grpcaudit/v1/event.js";
export {
  type ActorInput,
  type ActorKind,
  ANONYMOUS_ACTOR,
  type AuthnFailureCode,
  type AuthzOutcome,
  durationFromMs,
  durationToMs,
  type MutationKind,
  type ResultInput,
  SCHEMA_VERSION,
  type TargetInput,
  type TupleOperationKind,
  toActor,
  toResult,
  toTarget,
} from "./builders.js";
export { newEventId } from "./ids.js";
export { EVENT_KIND, type EventKind, eventKind } from "./kinds.js";
export {
  MAX_FIELD_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_TRUNCATION_MARKER_BYTES,
  truncateText,
} from "./limits.js";
export { decodeEvent, encodeEvent, eventFromJson, eventToJson } from "./serialize.js";
export { type StatusName, statusName } from "./status.js";
export {
  MAX_DURATION_MS,
  MAX_EVENT_TIME_MS,
  MIN_EVENT_TIME_MS,
} from "./time.js";
