import type { AuthnResultInput } from "../authn/observer.js";
import type { AuthzDecisionInput } from "../authz/observer.js";
import {
  ACTOR_TYPES,
  AUTHN_FAILURE_REASONS,
  AUTHZ_DECISIONS,
  MUTATION_TYPES,
  type MutationKind,
  TUPLE_OPERATIONS,
  type TupleOperationKind,
} from "../event/builders.js";
import type { RecordContext } from "../event/record-context.js";
import { statusName } from "../event/status.js";
import { isEventTime } from "../event/time.js";
import {
  copyAccessInput,
  copyAuthnInput,
  copyAuthzInput,
  copyMutationInput,
  copyTupleInput,
} from "./input-copy.js";
import type { StatusMessagePolicy } from "./status-message.js";

/** One tuple of a `recordTupleChange` call. */
export interface TupleChangeItem {
  /** "write" when the tuple was written, "delete" when it was deleted. */
  operation: TupleOperationKind;
  /** The tuple's user, such as "user:alice". Must not be empty. */
  user: string;
  /** The tuple's relation, such as "editor". Must not be empty. */
  relation: string;
  /**
   * The tuple's object, such as "project:p-1". Must not be empty. When every tuple of the call names
   * the same `type:id` object, it is the event's default target.
   */
  object: string;
  /** Default: the call's `result.success`, else true. */
  success?: boolean;
  /** Credential-free error code when this tuple failed. */
  errorReason?: string;
  /**
   * The tuple's condition, for a conditional tuple: its name in the authorization model (not empty) and
   * the names of the parameters the tuple's context sets (recorded sorted; default none). Context values
   * are not taken: they may be personal data or secrets. Default: none.
   */
  condition?: { name: string; contextKeys?: readonly string[] };
}

/** Input of `recordTupleChange`. */
export interface TupleChangeInput extends RecordContext {
  /** At least one tuple. */
  tuples: readonly TupleChangeItem[];
  /** OpenFGA store id the tuples were written to. Default: "". */
  storeId?: string;
  /** OpenFGA authorization model id the write used. Default: "". */
  modelId?: string;
}

/** Input of `recordResourceMutation`. */
export interface ResourceMutationInput extends RecordContext {
  /** What the call did to the resource: "create", "update" or "delete". */
  mutation: MutationKind;
  /** Resource type, such as "project"; also the event's default target type. Must not be empty. */
  resourceType: string;
  /** "" when the id could not be determined. */
  resourceId: string;
}

/** Input of `recordResourceAccess`: a read of one resource. */
export interface ResourceAccessInput extends RecordContext {
  /** Resource type, such as "project"; also the event's default target type. Must not be empty. */
  resourceType: string;
  /** "" when the id could not be determined. */
  resourceId: string;
}

type Input = Record<string, unknown>;
/** What is wrong with an input, or undefined when nothing is. */
type Problem = string | undefined;

/**
 * A record input copied into plain objects and checked: the copy, or what is wrong with the input as a
 * string (a string is never a valid input, so the two cannot be confused).
 */
export type Checked<T> = T | string;

/** The problem of an input whose getters or Proxy traps threw while it was read. */
export const UNREADABLE_INPUT = "input could not be read (a getter or Proxy trap threw)";

/** A `recordAuthnResult` input, copied (each field read once) and checked. Never throws. */
export function checkAuthnInput(input: unknown): Checked<AuthnResultInput> {
  return checked(input, copyAuthnInput, authnInputProblem);
}

/** A `recordAuthzDecision` input, copied and checked. Never throws. */
export function checkAuthzInput(input: unknown): Checked<AuthzDecisionInput> {
  return checked(input, copyAuthzInput, authzInputProblem);
}

/** A `recordTupleChange` input, copied and checked. Never throws. */
export function checkTupleInput(input: unknown): Checked<TupleChangeInput> {
  return checked(input, copyTupleInput, tupleInputProblem);
}

/** A `recordResourceMutation` input, copied and checked. Never throws. */
export function checkMutationInput(input: unknown): Checked<ResourceMutationInput> {
  return checked(input, copyMutationInput, mutationInputProblem);
}

function checked<T>(
  input: unknown,
  copy: (input: unknown) => unknown,
  problemOf: (copy: unknown) => Problem,
): Checked<T> {
  let copied: unknown;
  let problem: Problem;
  try {
    copied = copy(input);
    problem = problemOf(copied);
  } catch {
    return UNREADABLE_INPUT;
  }
  // Checked field by field above: the copy has the shape of T, and holds only primitives, plain
  // objects and arrays the Recorder made, and a Date it made.
  return problem === undefined ? (copied as T) : problem;
}

// Each record method has its own check written out field by field, not a list of generic checks: the
// record calls run on the RPC path, and reading `input[field]` for a field name held in a variable made
// V8 look every field up the slow way.

/** What is wrong with a `recordAuthnResult` input, or undefined when it can become an event. */
function authnInputProblem(input: unknown): Problem {
  if (!isObject(input)) return "input must be an object";
  return (
    nonEmptyString("method", input.method) ??
    boolean("success", input.success) ??
    optionalOneOf("failureReason", input.failureReason, AUTHN_FAILURE_REASONS) ??
    (input.success === false && input.failureReason === undefined
      ? "failureReason is required when success is false"
      : undefined) ??
    contextProblem(input)
  );
}

/** What is wrong with a `recordAuthzDecision` input, or undefined when it can become an event. */
function authzInputProblem(input: unknown): Problem {
  if (!isObject(input)) return "input must be an object";
  // A method without a rule has no relation or object type to name: they may be empty for NO_RULE only.
  const named = input.decision === "no_rule" ? string : nonEmptyString;
  return (
    oneOf("decision", input.decision, AUTHZ_DECISIONS) ??
    named("relation", input.relation) ??
    named("objectType", input.objectType) ??
    string("objectId", input.objectId) ??
    optionalBoolean("cacheHit", input.cacheHit) ??
    optionalString("errorReason", input.errorReason) ??
    optionalString("storeId", input.storeId) ??
    optionalString("modelId", input.modelId) ??
    optionalString("user", input.user) ??
    contextProblem(input)
  );
}

/** What is wrong with a `recordTupleChange` input, or undefined when it can become an event. */
function tupleInputProblem(input: unknown): Problem {
  if (!isObject(input)) return "input must be an object";
  const tuples = input.tuples;
  if (!Array.isArray(tuples) || tuples.length === 0) return "tuples must be a non-empty array";
  for (let i = 0; i < tuples.length; i++) {
    const problem = objectProblem(tuples[i], tupleProblem);
    if (problem !== undefined) return `tuples[${i}].${problem}`;
  }
  return (
    optionalString("storeId", input.storeId) ??
    optionalString("modelId", input.modelId) ??
    contextProblem(input)
  );
}

/** What is wrong with a `recordResourceMutation` input, or undefined when it can become an event. */
function mutationInputProblem(input: unknown): Problem {
  if (!isObject(input)) return "input must be an object";
  return (
    oneOf("mutation", input.mutation, MUTATION_TYPES) ??
    nonEmptyString("resourceType", input.resourceType) ??
    string("resourceId", input.resourceId) ??
    contextProblem(input)
  );
}

/** A `recordResourceAccess` input, copied and checked. Never throws. */
export function checkAccessInput(input: unknown): Checked<ResourceAccessInput> {
  return checked(input, copyAccessInput, accessInputProblem);
}

/** What is wrong with a `recordResourceAccess` input, or undefined when it can become an event. */
function accessInputProblem(input: unknown): Problem {
  if (!isObject(input)) return "input must be an object";
  return (
    nonEmptyString("resourceType", input.resourceType) ??
    string("resourceId", input.resourceId) ??
    contextProblem(input)
  );
}

function tupleProblem(tuple: Input): Problem {
  return (
    oneOf("operation", tuple.operation, TUPLE_OPERATIONS) ??
    nonEmptyString("user", tuple.user) ??
    nonEmptyString("relation", tuple.relation) ??
    nonEmptyString("object", tuple.object) ??
    optionalBoolean("success", tuple.success) ??
    optionalString("errorReason", tuple.errorReason) ??
    (tuple.condition === undefined ? undefined : nested("condition", tuple.condition, conditionProblem))
  );
}

function conditionProblem(condition: Input): Problem {
  const keys = condition.contextKeys;
  if (keys === undefined) return nonEmptyString("name", condition.name);
  if (!Array.isArray(keys)) return `contextKeys must be an array, got ${describe(keys)}`;
  const index = keys.findIndex((key) => typeof key !== "string");
  return (
    nonEmptyString("name", condition.name) ??
    (index === -1 ? undefined : `contextKeys[${index}] must be a string, got ${describe(keys[index])}`)
  );
}

const STATUS_MESSAGE_POLICIES: Readonly<Record<StatusMessagePolicy, true>> = {
  omit: true,
  truncate: true,
  record: true,
};

/** The fields of RecordContext, which every record call may set. */
function contextProblem(input: Input): Problem {
  const { actor, target, result, durationMs, occurredAt, attributes, payload } = input;
  return (
    optionalString("operation", input.operation) ??
    w3cId("traceId", input.traceId, TRACE_ID, 32) ??
    w3cId("spanId", input.spanId, SPAN_ID, 16) ??
    // A span id names a span only within its trace: alone it would point at nothing.
    ((input.traceId === undefined || input.traceId === "") &&
    input.spanId !== undefined &&
    input.spanId !== ""
      ? "spanId needs a traceId: give both, or a traceId alone"
      : undefined) ??
    optionalString("requestId", input.requestId) ??
    optionalString("peer", input.peer) ??
    optionalString("userAgent", input.userAgent) ??
    (actor === undefined ? undefined : nested("actor", actor, actorProblem)) ??
    (target === undefined ? undefined : nested("target", target, targetProblem)) ??
    (result === undefined ? undefined : nested("result", result, resultProblem)) ??
    (payload === undefined ? undefined : nested("payload", payload, payloadProblem)) ??
    (durationMs === undefined ||
    (typeof durationMs === "number" && Number.isFinite(durationMs) && durationMs >= 0)
      ? undefined
      : `durationMs must be a finite number >= 0, got ${describe(durationMs)}`) ??
    (occurredAt === undefined || (occurredAt instanceof Date && isEventTime(occurredAt.getTime()))
      ? undefined
      : `occurredAt must be a valid Date from 0001-01-01 to 9999-12-31 (UTC), got ${describe(occurredAt)}`) ??
    optionalOneOf("statusMessages", input.statusMessages, STATUS_MESSAGE_POLICIES) ??
    // Its entries are checked when the event is built: a bad entry is dropped, not the whole event.
    (attributes === undefined || (isObject(attributes) && !Array.isArray(attributes))
      ? undefined
      : `attributes must be an object, got ${describe(attributes)}`)
  );
}

function actorProblem(actor: Input): Problem {
  return nonEmptyString("id", actor.id) ?? optionalOneOf("type", actor.type, ACTOR_TYPES);
}

function targetProblem(target: Input): Problem {
  return (
    nonEmptyString("type", target.type) ?? string("id", target.id) ?? optionalString("name", target.name)
  );
}

function resultProblem(result: Input): Problem {
  const code = result.code;
  return (
    boolean("success", result.success) ??
    (code === undefined || isStatusCode(code)
      ? undefined
      : `code must be a gRPC status number (0 to 16) or name ("NOT_FOUND"), got ${describe(code)}`) ??
    // A success ends OK: another code would make the event say both.
    (result.success === true && code !== undefined && statusName(code as number | string) !== "OK"
      ? `code must be OK (0) or absent when success is true, got ${statusName(code as number | string)}`
      : undefined) ??
    optionalString("message", result.message)
  );
}

/** A gRPC status code as a number (0 to 16) or its name; statusName maps anything else to UNKNOWN. */
function isStatusCode(code: unknown): boolean {
  if (typeof code !== "number" && typeof code !== "string") return false;
  return statusName(code) !== "UNKNOWN" || code === "UNKNOWN" || code === 2;
}

/** W3C Trace Context ids: lowercase hex, not all zeros (empty: none). */
const TRACE_ID = /^(?!0+$)[0-9a-f]{32}$/;
const SPAN_ID = /^(?!0+$)[0-9a-f]{16}$/;

function w3cId(field: string, value: unknown, pattern: RegExp, digits: number): Problem {
  if (value === undefined || value === "") return undefined;
  if (typeof value === "string" && pattern.test(value)) return undefined;
  return `${field} must be ${digits} lowercase hex digits, not all zero (a W3C id), or empty, got ${describe(value)}`;
}

const PAYLOAD_CAPTURES = { none: true, digest: true, redacted: true };
const DIGEST = /^(?:[0-9a-f]{64})?$/;

function payloadProblem(payload: Input): Problem {
  const { requestDigest, responseDigest } = payload;
  return (
    oneOf("capture", payload.capture, PAYLOAD_CAPTURES) ??
    optionalString("keyId", payload.keyId) ??
    (requestDigest === undefined || (typeof requestDigest === "string" && DIGEST.test(requestDigest))
      ? undefined
      : `requestDigest must be 64 lowercase hex digits or empty, got ${describe(requestDigest)}`) ??
    (responseDigest === undefined || (typeof responseDigest === "string" && DIGEST.test(responseDigest))
      ? undefined
      : `responseDigest must be 64 lowercase hex digits or empty, got ${describe(responseDigest)}`) ??
    optionalCount("requestCount", payload.requestCount) ??
    optionalCount("responseCount", payload.responseCount) ??
    optionalString("requestJson", payload.requestJson) ??
    optionalString("responseJson", payload.responseJson)
  );
}

/** An optional uint32 count. */
function optionalCount(field: string, value: unknown): Problem {
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff)
    return undefined;
  return `${field} must be an integer from 0 to 4294967295, got ${describe(value)}`;
}

function isObject(value: unknown): value is Input {
  return typeof value === "object" && value !== null;
}

/** The problem of an object-valued field, its path prefixed: "actor.id must be a string, ...". */
function nested(path: string, value: unknown, problemOf: (value: Input) => Problem): Problem {
  if (!isObject(value)) return `${path} must be an object, got ${describe(value)}`;
  const problem = problemOf(value);
  return problem === undefined ? undefined : `${path}.${problem}`;
}

function objectProblem(value: unknown, problemOf: (value: Input) => Problem): Problem {
  return isObject(value) ? problemOf(value) : `must be an object, got ${describe(value)}`;
}

function string(field: string, value: unknown): Problem {
  return typeof value === "string" ? undefined : `${field} must be a string, got ${describe(value)}`;
}

function nonEmptyString(field: string, value: unknown): Problem {
  return value === "" ? `${field} must not be empty` : string(field, value);
}

function optionalString(field: string, value: unknown): Problem {
  return value === undefined ? undefined : string(field, value);
}

function boolean(field: string, value: unknown): Problem {
  return typeof value === "boolean" ? undefined : `${field} must be a boolean, got ${describe(value)}`;
}

function optionalBoolean(field: string, value: unknown): Problem {
  return value === undefined ? undefined : boolean(field, value);
}

function oneOf(field: string, value: unknown, allowed: Readonly<Record<string, unknown>>): Problem {
  if (typeof value === "string" && Object.hasOwn(allowed, value)) return undefined;
  return `${field} must be one of ${Object.keys(allowed).join(", ")}, got ${describe(value)}`;
}
function optionalOneOf(field: string, value: unknown, allowed: Readonly<Record<string, unknown>>): Problem {
  return value === undefined ? undefined : oneOf(field, value, allowed);
}

/** Describes a bad value by its type only: input may hold secrets, so values are never echoed. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) {
    const time = value.getTime();
    return Number.isNaN(time) ? "an invalid Date" : `a Date in year ${value.getUTCFullYear()}`;
  }
  return typeof value === "string" ? `a string of length ${value.length}` : typeof value;
}
