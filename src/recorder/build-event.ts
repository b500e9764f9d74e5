import type { AuthnResultInput } from "../authn/observer.js";
import type { AuthzDecisionInput } from "../authz/observer.js";
import type { AuditScope } from "../context/scope.js";
import {
  ANONYMOUS_ACTOR,
  AUTHN_FAILURE_REASONS,
  AUTHZ_DECISIONS,
  durationFromMs,
  MUTATION_TYPES,
  SCHEMA_VERSION,
  TUPLE_OPERATIONS,
  toActor,
  toResult,
  toTarget,
} from "../event/builders.js";
import { EVENT_KIND } from "../event/kinds.js";
import { limitEventText, MAX_FIELD_BYTES, truncateText } from "../event/limits.js";
import { MAX_PAYLOAD_JSON_BYTES, type PayloadInput, type RecordContext } from "../event/record-context.js";
import type { StatusName } from "../event/status.js";
import { eventDate } from "../event/time.js";
import {
  type AuditEvent,
  AuthnFailureReason,
  EventType,
  type Payload,
  PayloadCapture,
} from "../gen/grpcaudit/v1/event.js";
import type { ResourceAccessInput, ResourceMutationInput, TupleChangeInput } from "./inputs.js";
import type { TraceIds } from "./trace-ids.js";

/** The input of each event kind: what the Recorder's record method of that kind takes. @internal */
export interface EventInputs {
  [EVENT_KIND.AUTHN_RESULT]: AuthnResultInput;
  [EVENT_KIND.AUTHZ_DECISION]: AuthzDecisionInput;
  [EVENT_KIND.TUPLE_CHANGE]: TupleChangeInput;
  [EVENT_KIND.RESOURCE_MUTATION]: ResourceMutationInput;
  [EVENT_KIND.RESOURCE_ACCESS]: ResourceAccessInput;
}

/**
 * The kinds a record method makes (every kind but the chain's own checkpoints).
 * @internal
 */
export type RecordedKind = keyof EventInputs;

/**
 * What the Recorder adds to an input to make an event: who records it, the event's id and time, and
 * the call it belongs to. The Recorder reads them from its options, clocks and the audit scope.
 *
 * @internal
 */
export interface EventStamp {
  /** The Recorder's service name. */
  service: string;
  /** The Recorder's `instance`, "" when not configured. */
  instance: string;
  eventId: string;
  /** When it happened: the input's `occurredAt`, else the Recorder's clock. Within 0001 to 9999. */
  occurredAt: Date;
  /** The input's `durationMs`, else the time since the call started; undefined outside an RPC. */
  durationMs: number | undefined;
  /** The call's audit scope, read for what the input does not say; undefined outside an RPC. */
  scope: Readonly<Omit<AuditScope, "startedAtMs">> | undefined;
  /** Ids of the span active at the record call (the `traceContext` option); over the scope's. */
  trace?: TraceIds | undefined;
  /** The event's attributes: the input's merged over the scope's, checked and redacted. Default: none. */
  attributes?: Record<string, string> | undefined;
}

/**
 * The audit event of one checked record input. Pure: no clock, no id generator, no scope lookup,
 * nothing emitted; everything not in the input comes from `stamp`. Explicit input wins over the
 * scope; every text field is cut to its limit (`limitEventText`).
 *
 * @internal
 */
export function buildEvent<K extends RecordedKind>(
  kind: K,
  input: EventInputs[K],
  stamp: EventStamp,
): AuditEvent {
  return BUILDERS[kind](input, stamp);
}

/** What a kind supplies when the input does not say. */
interface Defaults {
  actor?: AuditEvent["actor"] | undefined;
  target?: { type: string; id: string } | undefined;
  result: { success: boolean };
  /** Status name of a failed result that gives no code. */
  failureCode?: StatusName;
}

// One builder per kind, as a literal mapped over the kinds so each builder gets its own input type.
const BUILDERS: { [K in RecordedKind]: (input: EventInputs[K], stamp: EventStamp) => AuditEvent } = {
  [EVENT_KIND.AUTHN_RESULT]: (input, stamp) => {
    const reason = input.success
      ? AuthnFailureReason.AUTHN_FAILURE_REASON_UNSPECIFIED
      : AUTHN_FAILURE_REASONS[input.failureReason ?? "error"];
    return build(
      EventType.EVENT_TYPE_AUTHN_RESULT,
      input,
      stamp,
      { $case: "authn", value: { method: input.method, success: input.success, failureReason: reason } },
      {
        result: { success: input.success },
        failureCode: "UNAUTHENTICATED",
        // A refused caller is anonymous unless the authenticator says who it claimed to be.
        actor: input.success ? undefined : ANONYMOUS_ACTOR,
      },
    );
  },
  [EVENT_KIND.AUTHZ_DECISION]: (input, stamp) => {
    const errorReason = input.errorReason ?? "";
    return build(
      EventType.EVENT_TYPE_AUTHZ_DECISION,
      input,
      stamp,
      {
        $case: "authz",
        value: {
          relation: input.relation,
          objectType: input.objectType,
          objectId: input.objectId,
          decision: AUTHZ_DECISIONS[input.decision],
          cacheHit: input.cacheHit ?? false,
          errorReason,
          storeId: input.storeId ?? "",
          modelId: input.modelId ?? "",
          user: input.user ?? "",
        },
      },
      {
        target: { type: input.objectType, id: input.objectId },
        result: { success: input.decision === "allowed" },
        failureCode: authzFailureCode(input.decision, errorReason),
      },
    );
  },
  [EVENT_KIND.TUPLE_CHANGE]: (input, stamp) => {
    const callSucceeded = input.result?.success ?? true;
    const tuples = input.tuples.map((tuple) => ({
      operation: TUPLE_OPERATIONS[tuple.operation],
      user: tuple.user,
      relation: tuple.relation,
      object: tuple.object,
      success: tuple.success ?? callSucceeded,
      errorReason: tuple.errorReason ?? "",
      condition:
        tuple.condition === undefined
          ? undefined
          : { name: tuple.condition.name, contextKeys: [...(tuple.condition.contextKeys ?? [])].sort() },
    }));
    return build(
      EventType.EVENT_TYPE_TUPLE_CHANGED,
      input,
      stamp,
      { $case: "tupleChange", value: { tuples, storeId: input.storeId ?? "", modelId: input.modelId ?? "" } },
      { target: tupleTarget(tuples), result: { success: tuples.every((t) => t.success) } },
    );
  },
  [EVENT_KIND.RESOURCE_MUTATION]: (input, stamp) =>
    build(
      EventType.EVENT_TYPE_RESOURCE_MUTATION,
      input,
      stamp,
      {
        $case: "resourceMutation",
        value: {
          mutation: MUTATION_TYPES[input.mutation],
          resourceType: input.resourceType,
          resourceId: input.resourceId,
        },
      },
      { target: { type: input.resourceType, id: input.resourceId }, result: { success: true } },
    ),
  [EVENT_KIND.RESOURCE_ACCESS]: (input, stamp) =>
    build(
      EventType.EVENT_TYPE_RESOURCE_ACCESS,
      input,
      stamp,
      {
        $case: "resourceAccess",
        value: { resourceType: input.resourceType, resourceId: input.resourceId },
      },
      { target: { type: input.resourceType, id: input.resourceId }, result: { success: true } },
    ),
};

/**
 * The target of a tuple change: the object (`type:id`) its tuples share, so that queries by target
 * find the relationship changes of a resource; none when they name different objects.
 */
function tupleTarget(tuples: readonly { object: string }[]): { type: string; id: string } | undefined {
  const object = tuples[0]?.object;
  if (object === undefined || tuples.some((tuple) => tuple.object !== object)) return undefined;
  const colon = object.indexOf(":");
  return colon < 0 ? undefined : { type: object.slice(0, colon), id: object.slice(colon + 1) };
}

/** The common fields: explicit input first, then the kind's defaults or the scope. */
function build(
  type: EventType,
  input: RecordContext,
  stamp: EventStamp,
  detail: AuditEvent["detail"],
  defaults: Defaults,
): AuditEvent {
  const { scope, durationMs } = stamp;
  const scopeActor = scope === undefined ? undefined : (scope.actor ?? ANONYMOUS_ACTOR);
  const target = input.target ?? defaults.target;
  const ids = traceSource(input, stamp);
  return limitEventText({
    eventId: stamp.eventId,
    eventType: type,
    schemaVersion: SCHEMA_VERSION,
    occurredAt: eventDate(stamp.occurredAt),
    service: stamp.service,
    operation: input.operation ?? scope?.operation ?? "",
    actor: input.actor === undefined ? (defaults.actor ?? scopeActor) : toActor(input.actor),
    target: target === undefined ? undefined : toTarget(target),
    result: toResult(input.result ?? defaults.result, defaults.failureCode),
    traceId: ids?.traceId ?? "",
    spanId: ids?.spanId ?? "",
    requestId: input.requestId ?? scope?.requestId ?? "",
    peer: input.peer ?? scope?.peer ?? "",
    duration: durationMs === undefined ? undefined : durationFromMs(durationMs),
    userAgent: input.userAgent ?? scope?.userAgent ?? "",
    chain: undefined,
    payload: input.payload === undefined ? undefined : toPayload(input.payload),
    attributes: stamp.attributes ?? {},
    instance: stamp.instance,
    detail,
  });
}

/**
 * Where the event's trace and span id come from, always as a pair so that an event never carries the
 * span id of another trace: the input when it gives either, else the active span, else the scope
 * (from `traceparent`), else none. Makes no object: it runs for every event, on the RPC path.
 */
function traceSource(
  input: RecordContext,
  stamp: EventStamp,
): { readonly traceId?: string; readonly spanId?: string } | undefined {
  return input.traceId !== undefined || input.spanId !== undefined ? input : (stamp.trace ?? stamp.scope);
}

const PAYLOAD_CAPTURES = {
  none: PayloadCapture.PAYLOAD_CAPTURE_NONE,
  digest: PayloadCapture.PAYLOAD_CAPTURE_DIGEST,
  redacted: PayloadCapture.PAYLOAD_CAPTURE_REDACTED,
} as const;

/** The event's payload; its text cut to its limits (the key id as an id, the JSON to 2048 bytes). */
function toPayload(input: PayloadInput): Payload {
  return {
    capture: PAYLOAD_CAPTURES[input.capture],
    keyId: truncateText(input.keyId ?? "", MAX_FIELD_BYTES),
    requestDigest: input.requestDigest ?? "",
    responseDigest: input.responseDigest ?? "",
    requestCount: input.requestCount ?? 0,
    responseCount: input.responseCount ?? 0,
    requestJson: truncateText(input.requestJson ?? "", MAX_PAYLOAD_JSON_BYTES),
    responseJson: truncateText(input.responseJson ?? "", MAX_PAYLOAD_JSON_BYTES),
  };
}

/** The status of a refused authz decision that gives no result code of its own. */
function authzFailureCode(decision: AuthzDecisionInput["decision"], errorReason: string): StatusName {
  if (errorReason === "anonymous") return "UNAUTHENTICATED";
  if (decision !== "error") return "PERMISSION_DENIED";
  if (errorReason === "timeout") return "DEADLINE_EXCEEDED";
  if (INVALID_ID_REASONS.has(errorReason)) return "INVALID_ARGUMENT";
  return "UNAVAILABLE";
}

/** Refusals for an object or caller id the authz layer cannot use: the caller's argument was wrong. */
const INVALID_ID_REASONS = new Set(["object_id_unresolved", "object_id_invalid", "subject_id_invalid"]);
