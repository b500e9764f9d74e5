/**
 * grpc-audit: audit events for Node.js gRPC servers. This module only re-exports the public API: what a
 * service wires (interceptors, authenticators, the Recorder, emitters, delivery, brokers), the outcome
 * unions and input shapes it meets, the event it gets, and the errors. Helpers behind these names stay
 * in their modules (marked `@internal`). etc/grpc-audit.api.md is the reviewed list of these names;
 * `npm run api:check` (part of `npm test`) fails when it differs from this file.
 */

// Authn: who the caller is (JWT authenticator, or your own Authenticator).
export {
  type Authenticator,
  type AuthnCallInfo,
  type AuthnFailureCode,
  type AuthnObserver,
  type AuthnOutcome,
  type AuthnResultInput,
  createJwtAuthenticator,
  type JwtAuthenticatorOptions,
} from "./authn/index.js";
// Authz: may this caller do this (the OpenFGA Authorizer is in grpc-audit/openfga).
export type {
  Authorizer,
  AuthzDecisionInput,
  AuthzObserver,
  AuthzOutcome,
  CheckOptions,
  CheckRequest,
  Decision,
} from "./authz/index.js";
// Brokers: the port and its emitter (the Kafka and NATS clients are in grpc-audit/kafka, grpc-audit/nats).
export {
  BROKER_CONTENT_TYPE,
  BROKER_HEADER,
  type Broker,
  type BrokerEmitterOptions,
  type BrokerEncoding,
  type BrokerMessage,
  type BrokerSinkOptions,
  CLOUDEVENTS_TYPE_PREFIX,
  type CloudEventsHeaderPrefix,
  createBrokerEmitter,
} from "./brokers/index.js";
// The tamper-evident chain: its options, canonical hash, and the verifier of a read-back trail.
export {
  CHAIN_FINDING_KINDS,
  CHECKPOINT_STATEMENT_PREFIX,
  type ChainFinding,
  type ChainFindingKind,
  type ChainOptions,
  type ChainReport,
  canonicalBytes,
  chainHash,
  checkpointStatement,
  type VerifyOptions,
  type VerifyReport,
  verifyChains,
} from "./chain/index.js";
// The per-call scope handlers read.
export {
  type AuditScope,
  currentActor,
  currentAuditScope,
  type MetadataReader,
  setAuditAttribute,
} from "./context/index.js";
// Delivery: queue, batches, retry, overflow policies, spool, in front of an EventSink.
export {
  createDeliveryEmitter,
  type DeliveryCloseReport,
  type DeliveryEmitter,
  type DeliveryEmitterOptions,
  type DeliveryFlushReport,
  type DeliveryStats,
  type Jitter,
  type OverflowPolicy,
  type OverflowPolicyMap,
  type ParkOptions,
  type RetryOptions,
  type SpoolOptions,
  type SpoolRecoveryStats,
} from "./delivery/index.js";
// Emitters and the sink port.
export {
  createLogEmitter,
  createMultiEmitter,
  createNoopEmitter,
  type EmitOutcome,
  type Emitter,
  type EmitterSpec,
  type EmitterStats,
  type EncodedEvent,
  type EventSink,
  type FlushReport,
  type FlushResult,
  type LogEmitterOptions,
  type MultiEmitterOptions,
  type SinkWriteOptions,
} from "./emitters/index.js";
export {
  AuditConfigError,
  AuditEmitError,
  AuditError,
  AuditEventRefusedError,
  AuditEventTooLargeError,
  AuditInputError,
  AuditPartialDeliveryError,
} from "./errors/index.js";
// The event: its generated type and enums, the Recorder's input shapes, kinds and serialisation.
export {
  type Actor,
  type ActorInput,
  type ActorKind,
  ActorType,
  AuditEvent,
  type AuthnDetail,
  AuthnFailureReason,
  AuthzDecision,
  type AuthzDetail,
  type Chain,
  type ChainCheckpointDetail,
  type Duration,
  decodeEvent,
  EVENT_KIND,
  type EventKind,
  EventType,
  encodeEvent,
  eventFromJson,
  eventKind,
  eventToJson,
  type MutationKind,
  MutationType,
  type Payload,
  PayloadCapture,
  type RecordSummaryCount,
  type RecordSummaryDetail,
  type ResourceAccessDetail,
  type ResourceMutationDetail,
  type Result,
  type ResultInput,
  SCHEMA_VERSION,
  type Target,
  type TargetInput,
  type TupleChange,
  type TupleChangeDetail,
  type TupleCondition,
  TupleOperation,
  type TupleOperationKind,
} from "./event/index.js";
// The interceptor chain to put first in a grpc-js Server's interceptors.
export {
  type AuditInterceptorsOptions,
  type AuthnInterceptorOptions,
  type AuthzInterceptorOptions,
  createAuditInterceptors,
  type RulesInterceptorOptions,
} from "./interceptors/index.js";
// Payload capture: redaction by message shape, canonical encoding, keyed digests and their verification.
export {
  type DigestedPayload,
  encodeCanonical,
  type JsonValue,
  type PayloadDigestKey,
  type PayloadProblems,
  type PayloadVerification,
  payloadDigest,
  redactToJson,
  verifyPayloadDigest,
} from "./payload/index.js";
// The Recorder and what it takes.
export {
  createRecorder,
  type PayloadInput,
  type RecordContext,
  type Recorder,
  type RecorderOptions,
  type RecorderStats,
  type RecordMode,
  type RecordOutcome,
  type RecordPolicy,
  type ResourceAccessInput,
  type ResourceMutationInput,
  type SkippableKind,
  type SkippedCount,
  type SkippedStats,
  type StatusMessagePolicy,
  type TraceIds,
  type TupleChangeInput,
  type TupleChangeItem,
} from "./recorder/index.js";
// Rules: the tables protoc-gen-grpc-audit generates, passed to createAuditInterceptors.
export type {
  AuditRule,
  AuthzRule,
  AuthzRuleTable,
  FieldShape,
  MessageShape,
  MethodKind,
  RuleTable,
  ScalarType,
  ValueShape,
  WellKnownType,
} from "./rules/index.js";
// Async handlers for grpc-js.
export {
  type AsyncHandler,
  type AsyncServiceImplementation,
  type AsyncServiceOptions,
  asyncService,
  type StatusError,
} from "./server/index.js";
