import type { Duration } from "../gen/google/protobuf/duration.js";
import {
  type Actor,
  ActorType,
  type AuditEvent,
  AuthnFailureReason,
  AuthzDecision,
  type EventType,
  MutationType,
  type Result,
  type Target,
  TupleOperation,
} from "../gen/grpcaudit/v1/event.js";
import { statusName } from "./status.js";
import { MAX_DURATION_MS } from "./time.js";

/** Kind of principal, as written in TypeScript; maps to the proto `ActorType`. */
export type ActorKind = "user" | "service" | "system" | "anonymous";

/** Who acted, as the caller of the Recorder describes it. Only `id` is required. */
export interface ActorInput {
  /** Stable identifier, such as a JWT `sub` or a service account name. */
  id: string;
  /** Default: "user". */
  type?: ActorKind;
  /** Human-readable name, when the credential carries one. Default: "". */
  displayName?: string;
  /** E-mail address, when the credential carries one. Default: "". */
  email?: string;
  /** Subject as the identity provider issued it, when `id` is a mapped id. Default: "". */
  subject?: string;
  /** OAuth client id (authorized party) the credential was issued to. Default: "". */
  clientId?: string;
  /** Identity realm, tenant or issuer the actor belongs to. Default: "". */
  realm?: string;
}

/** What was acted on. */
export interface TargetInput {
  /** Resource type, such as "project". Must not be empty. */
  type: string;
  /** Resource id, such as "p-42"; may be "" when unknown. */
  id: string;
  /** Human-readable resource name. Default: "". */
  name?: string;
}

/** How an action ended. `code` is a gRPC status number or name; its default follows `success`. */
export interface ResultInput {
  /** True when the action succeeded. */
  success: boolean;
  /**
   * gRPC status as its number (7) or its name ("PERMISSION_DENIED"); an unknown one is recorded as
   * "UNKNOWN". Default: "OK" when `success`, else the event kind's failure status: "UNAUTHENTICATED"
   * for an authn result, one that fits the decision for authz ("PERMISSION_DENIED" when denied), else
   * "UNKNOWN".
   */
  code?: number | string;
  /**
   * Short, credential-free explanation, kept as the Recorder's `statusMessages` policy says and
   * redacted with its `redactPatterns`. Default: "".
   */
  message?: string;
}

/** Credential-free reason an authentication was refused. */
export type AuthnFailureCode =
  | "missing"
  | "malformed"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "wrong_issuer"
  | "wrong_audience"
  | "wrong_type"
  | "unknown_key"
  | "disallowed_algorithm"
  | "error";

/** Outcome of an authorization check, as written in TypeScript; maps to the proto `AuthzDecision`. */
export type AuthzOutcome = "allowed" | "denied" | "no_rule" | "error";

/** What happened to a relationship tuple. */
export type TupleOperationKind = "write" | "delete";

/** What an RPC did to a resource. */
export type MutationKind = "create" | "update" | "delete";

/**
 * The actor recorded for callers without a usable credential.
 * @internal
 */
export const ANONYMOUS_ACTOR: Readonly<Actor> = Object.freeze({
  id: "anonymous",
  type: ActorType.ACTOR_TYPE_ANONYMOUS,
  displayName: "",
  email: "",
  subject: "",
  clientId: "",
  realm: "",
});

/** Version of the event schema this library writes into `schemaVersion`. */
export const SCHEMA_VERSION = 2;

/** The id, time, service and instance of an event a Recorder writes outside any RPC. @internal */
export interface OutOfCallStamp {
  service: string;
  /** The Recorder's `instance`, "" when not configured. */
  instance: string;
  eventId: string;
  occurredAt: Date;
}

/**
 * An event a Recorder writes by itself, outside any RPC (a chain checkpoint, a record summary): no
 * operation, target, request, trace or peer; result OK.
 * @internal
 */
export function outOfCallEvent(
  stamp: OutOfCallStamp,
  eventType: EventType,
  detail: AuditEvent["detail"],
  actor?: Actor,
): AuditEvent {
  return {
    eventId: stamp.eventId,
    eventType,
    schemaVersion: SCHEMA_VERSION,
    occurredAt: stamp.occurredAt,
    service: stamp.service,
    operation: "",
    actor,
    target: undefined,
    result: { success: true, code: "OK", message: "" },
    traceId: "",
    spanId: "",
    requestId: "",
    peer: "",
    duration: undefined,
    userAgent: "",
    chain: undefined,
    payload: undefined,
    attributes: {},
    instance: stamp.instance,
    detail,
  };
}

/** @internal */
export const ACTOR_TYPES: Readonly<Record<ActorKind, ActorType>> = {
  user: ActorType.ACTOR_TYPE_USER,
  service: ActorType.ACTOR_TYPE_SERVICE,
  system: ActorType.ACTOR_TYPE_SYSTEM,
  anonymous: ActorType.ACTOR_TYPE_ANONYMOUS,
};

/** @internal */
export const AUTHN_FAILURE_REASONS: Readonly<Record<AuthnFailureCode, AuthnFailureReason>> = {
  missing: AuthnFailureReason.AUTHN_FAILURE_REASON_MISSING,
  malformed: AuthnFailureReason.AUTHN_FAILURE_REASON_MALFORMED,
  bad_signature: AuthnFailureReason.AUTHN_FAILURE_REASON_BAD_SIGNATURE,
  expired: AuthnFailureReason.AUTHN_FAILURE_REASON_EXPIRED,
  not_yet_valid: AuthnFailureReason.AUTHN_FAILURE_REASON_NOT_YET_VALID,
  wrong_issuer: AuthnFailureReason.AUTHN_FAILURE_REASON_WRONG_ISSUER,
  wrong_audience: AuthnFailureReason.AUTHN_FAILURE_REASON_WRONG_AUDIENCE,
  wrong_type: AuthnFailureReason.AUTHN_FAILURE_REASON_WRONG_TYPE,
  unknown_key: AuthnFailureReason.AUTHN_FAILURE_REASON_UNKNOWN_KEY,
  disallowed_algorithm: AuthnFailureReason.AUTHN_FAILURE_REASON_DISALLOWED_ALGORITHM,
  error: AuthnFailureReason.AUTHN_FAILURE_REASON_ERROR,
};

/** @internal */
export const AUTHZ_DECISIONS: Readonly<Record<AuthzOutcome, AuthzDecision>> = {
  allowed: AuthzDecision.AUTHZ_DECISION_ALLOWED,
  denied: AuthzDecision.AUTHZ_DECISION_DENIED,
  no_rule: AuthzDecision.AUTHZ_DECISION_NO_RULE,
  error: AuthzDecision.AUTHZ_DECISION_ERROR,
};

/** @internal */
export const TUPLE_OPERATIONS: Readonly<Record<TupleOperationKind, TupleOperation>> = {
  write: TupleOperation.TUPLE_OPERATION_WRITE,
  delete: TupleOperation.TUPLE_OPERATION_DELETE,
};

/** @internal */
export const MUTATION_TYPES: Readonly<Record<MutationKind, MutationType>> = {
  create: MutationType.MUTATION_TYPE_CREATE,
  update: MutationType.MUTATION_TYPE_UPDATE,
  delete: MutationType.MUTATION_TYPE_DELETE,
};

/**
 * Builds the proto Actor for an ActorInput.
 * @internal
 */
export function toActor(input: ActorInput): Actor {
  return {
    id: input.id,
    type: ACTOR_TYPES[input.type ?? "user"],
    displayName: input.displayName ?? "",
    email: input.email ?? "",
    subject: input.subject ?? "",
    clientId: input.clientId ?? "",
    realm: input.realm ?? "",
  };
}

/**
 * Builds the proto Target for a TargetInput.
 * @internal
 */
export function toTarget(input: TargetInput): Target {
  return { type: input.type, id: input.id, name: input.name ?? "" };
}

/**
 * Builds the proto Result; `failureCode` is the status name used when a failure gives no code. The
 * message is kept whole: the Recorder cuts every text field of an event once (`limitEventText`).
 * @internal
 */
export function toResult(input: ResultInput, failureCode: number | string = "UNKNOWN"): Result {
  const code = input.code ?? (input.success ? "OK" : failureCode);
  return { success: input.success, code: statusName(code), message: input.message ?? "" };
}

/**
 * Converts milliseconds (fractions allowed) to a protobuf Duration that is always valid: NaN and
 * negative values become zero, values above `MAX_DURATION_MS` (+Infinity too) become that maximum.
 * @internal
 */
export function durationFromMs(ms: number): Duration {
  const clamped = ms > 0 ? Math.min(ms, MAX_DURATION_MS) : 0; // NaN > 0 is false
  const seconds = Math.floor(clamped / 1000);
  const nanos = Math.round((clamped - seconds * 1000) * 1e6);
  // Rounding can reach a whole second (999.9999999 ms): carry it, nanos must stay below 1e9.
  return nanos === 1e9 ? { seconds: seconds + 1, nanos: 0 } : { seconds, nanos };
}

/**
 * Converts a protobuf Duration to milliseconds.
 * @internal
 */
export function durationToMs(duration: Duration): number {
  return duration.seconds * 1e3 + duration.nanos / 1e6;
}
