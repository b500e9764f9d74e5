import {
  ACTOR_TYPES,
  type ActorInput,
  AUTHN_FAILURE_REASONS,
  AUTHZ_DECISIONS,
  type AuthnFailureCode,
  type AuthzOutcome,
  MUTATION_TYPES,
  type MutationKind,
  type ResultInput,
  type TargetInput,
  TUPLE_OPERATIONS,
  type TupleOperationKind,
} from "../event/builders.js";

/**
 * Facts every record call may state explicitly. Inside an RPC the Recorder takes what is not given from
 * the audit scope; outside one, what is not given stays empty.
 */
export interface RecordContext {
  /** Full gRPC method path. Default: the scope's operation. */
  operation?: string;
  /** Who acted. Default: the scope's actor; anonymous inside an RPC without one; none outside an RPC. */
  actor?: ActorInput;
  /** What was acted on. Default: derived from the record call where it names an object. */
  target?: TargetInput;
  /** How the action ended. Default: derived from the record call. */
  result?: ResultInput;
  traceId?: string;
  spanId?: string;
  requestId?: string;
  peer?: string;
  /** Default: time since the RPC started; none outside an RPC. */
  durationMs?: number;
  /** Default: the Recorder's clock. */
  occurredAt?: Date;
}

/** Input of `recordAuthnResult`. */
export interface AuthnResultInput extends RecordContext {
  /** Method tried, such as "jwt". */
  method: string;
  success: boolean;
  /** Required when `success` is false. */
  failureReason?: AuthnFailureCode;
}

/** Input of `recordAuthzDecision`. */
export interface AuthzDecisionInput extends RecordContext {
  relation: string;
  objectType: string;
  /** "" when the id could not be resolved. */
  objectId: string;
  decision: AuthzOutcome;
  cacheHit?: boolean;
  /** Credential-free code for errors and refusals made without the engine. */
  errorReason?: string;
  storeId?: string;
  modelId?: string;
}

/** One tuple of a `recordTupleChange` call. */
export interface TupleChangeItem {
  operation: TupleOperationKind;
  user: string;
  relation: string;
  object: string;
  /** Default: the call's `result.success`, else true. */
  success?: boolean;
  /** Credential-free error code when this tuple failed. */
  errorReason?: string;
}

/** Input of `recordTupleChange`. */
export interface TupleChangeInput extends RecordContext {
  /** At least one tuple. */
  tuples: readonly TupleChangeItem[];
  storeId?: string;
  modelId?: string;
}

/** Input of `recordResourceMutation`. */
export interface ResourceMutationInput extends RecordContext {
  mutation: MutationKind;
  resourceType: string;
  /** "" when the id could not be determined. */
  resourceId: string;
}

type Check = (input: Record<string, unknown>) => string | undefined;

const CONTEXT_STRINGS = ["operation", "traceId", "spanId", "requestId", "peer"] as const;

/**
 * Returns what is wrong with a record call's input, or undefined when it can become an event.
 * `checks` is one of the *_CHECKS lists below, which already end with the shared context checks.
 */
export function inputProblem(input: unknown, checks: readonly Check[]): string | undefined {
  if (typeof input !== "object" || input === null) return "input must be an object";
  return inputProblemOf(input, checks);
}

const str =
  (field: string, options: { optional?: boolean; nonEmpty?: boolean } = {}): Check =>
  (input) => {
    const value = input[field];
    if (value === undefined && options.optional) return undefined;
    if (typeof value !== "string") return `${field} must be a string, got ${describe(value)}`;
    if (options.nonEmpty && value === "") return `${field} must not be empty`;
    return undefined;
  };

const bool =
  (field: string, options: { optional?: boolean } = {}): Check =>
  (input) => {
    const value = input[field];
    if (value === undefined && options.optional) return undefined;
    return typeof value === "boolean" ? undefined : `${field} must be a boolean, got ${describe(value)}`;
  };

const oneOf =
  (field: string, allowed: Readonly<Record<string, unknown>>, options: { optional?: boolean } = {}): Check =>
  (input) => {
    const value = input[field];
    if (value === undefined && options.optional) return undefined;
    if (typeof value === "string" && Object.hasOwn(allowed, value)) return undefined;
    return `${field} must be one of ${Object.keys(allowed).join(", ")}, got ${describe(value)}`;
  };

export const AUTHN_CHECKS: readonly Check[] = withContext([
  str("method", { nonEmpty: true }),
  bool("success"),
  oneOf("failureReason", AUTHN_FAILURE_REASONS, { optional: true }),
  (input) =>
    input.success === false && input.failureReason === undefined
      ? "failureReason is required when success is false"
      : undefined,
]);

// A method without a rule has no relation or object type to name: they may be empty for NO_RULE only.
const unlessNoRule = (field: string): Check => {
  const named = str(field, { nonEmpty: true });
  const any = str(field);
  return (input) => (input.decision === "no_rule" ? any(input) : named(input));
};

export const AUTHZ_CHECKS: readonly Check[] = withContext([
  oneOf("decision", AUTHZ_DECISIONS),
  unlessNoRule("relation"),
  unlessNoRule("objectType"),
  str("objectId"),
  bool("cacheHit", { optional: true }),
  str("errorReason", { optional: true }),
  str("storeId", { optional: true }),
  str("modelId", { optional: true }),
]);

const tupleItem: readonly Check[] = [
  oneOf("operation", TUPLE_OPERATIONS),
  str("user", { nonEmpty: true }),
  str("relation", { nonEmpty: true }),
  str("object", { nonEmpty: true }),
  bool("success", { optional: true }),
  str("errorReason", { optional: true }),
];

export const TUPLE_CHECKS: readonly Check[] = withContext([
  (input) => {
    const tuples = input.tuples;
    if (!Array.isArray(tuples) || tuples.length === 0) return "tuples must be a non-empty array";
    for (const [i, tuple] of tuples.entries()) {
      const problem = inputProblemOf(tuple, tupleItem);
      if (problem !== undefined) return `tuples[${i}].${problem}`;
    }
    return undefined;
  },
  str("storeId", { optional: true }),
  str("modelId", { optional: true }),
]);

export const MUTATION_CHECKS: readonly Check[] = withContext([
  oneOf("mutation", MUTATION_TYPES),
  str("resourceType", { nonEmpty: true }),
  str("resourceId"),
]);

// Built once: record calls run on the RPC path, so no check list is allocated per call.
const CONTEXT_STRING_CHECKS = CONTEXT_STRINGS.map((field) => str(field, { optional: true }));
const ACTOR_CHECKS = [str("id", { nonEmpty: true }), oneOf("type", ACTOR_TYPES, { optional: true })];
const TARGET_CHECKS = [str("type", { nonEmpty: true }), str("id"), str("name", { optional: true })];
const RESULT_CHECKS = [bool("success"), str("message", { optional: true })];

/** A record method's checks followed by the checks of the context fields every record call may set. */
function withContext(checks: readonly Check[]): readonly Check[] {
  return [...checks, checkContext];
}

function checkContext(input: Record<string, unknown>): string | undefined {
  for (const check of CONTEXT_STRING_CHECKS) {
    const problem = check(input);
    if (problem !== undefined) return problem;
  }
  const { actor, target, result, durationMs, occurredAt } = input;
  if (actor !== undefined) {
    const problem = inputProblemOf(actor, ACTOR_CHECKS);
    if (problem !== undefined) return `actor.${problem}`;
  }
  if (target !== undefined) {
    const problem = inputProblemOf(target, TARGET_CHECKS);
    if (problem !== undefined) return `target.${problem}`;
  }
  if (result !== undefined) {
    const problem = inputProblemOf(result, RESULT_CHECKS);
    if (problem !== undefined) return `result.${problem}`;
  }
  if (
    durationMs !== undefined &&
    (typeof durationMs !== "number" || !Number.isFinite(durationMs) || durationMs < 0)
  ) {
    return `durationMs must be a finite number >= 0, got ${describe(durationMs)}`;
  }
  if (occurredAt !== undefined && !(occurredAt instanceof Date && Number.isFinite(occurredAt.getTime()))) {
    return `occurredAt must be a valid Date, got ${describe(occurredAt)}`;
  }
  return undefined;
}

function inputProblemOf(value: unknown, checks: readonly Check[]): string | undefined {
  if (typeof value !== "object" || value === null) return `must be an object, got ${describe(value)}`;
  for (const check of checks) {
    const problem = check(value as Record<string, unknown>);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Describes a bad value by its type only: input may hold secrets, so values are never echoed. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "an invalid Date";
  return typeof value === "string" ? `a string of length ${value.length}` : typeof value;
}
