import { AsyncLocalStorage } from "node:async_hooks";
import { performance } from "node:perf_hooks";
import { newEventId } from "../event/ids.js";
import { isAttributeKey, MAX_ATTRIBUTES } from "../event/limits.js";
import type { Actor } from "../gen/grpcaudit/v1/event.js";
import { parseTraceparent } from "./traceparent.js";

/**
 * What grpc-audit knows about the RPC being served. The audit interceptor opens one per call; the
 * Recorder fills events from it; authn sets `actor`; handlers read it through `currentAuditScope()`.
 */
export interface AuditScope {
  /** Full method path, such as "/acme.projects.v1.ProjectService/CreateProject". */
  readonly operation: string;
  /** Caller address as grpc-js reports it. */
  readonly peer: string;
  /** W3C trace id from `traceparent`, or "". */
  readonly traceId: string;
  /** W3C parent span id from `traceparent`, or "". */
  readonly spanId: string;
  /** `x-request-id` of the call, or a generated id. */
  readonly requestId: string;
  /** The call's `user-agent` header (its first value), or "" when absent. */
  readonly userAgent: string;
  /** `performance.now()` when the call started; event durations count from it. */
  readonly startedAtMs: number;
  /** The authenticated caller; set by the authn interceptor, undefined until then. */
  actor: Actor | undefined;
  /**
   * Facts the handler attached to the call with `setAuditAttribute`, put into the `attributes` of
   * every event recorded for the call from then on. Absent until the first one is set.
   */
  attributes?: Map<string, string>;
}

/** The subset of grpc-js `Metadata` the scope reads, so this module does not load grpc-js. */
export interface MetadataReader {
  /** The values of header `key`, as grpc-js `Metadata.get` returns them; an empty array when absent. */
  get(key: string): ReadonlyArray<string | Buffer>;
}

/**
 * Input of `createAuditScope`.
 * @internal
 */
export interface AuditScopeInit {
  operation: string;
  /** Incoming call metadata; `traceparent`, `x-request-id` and `user-agent` are read from it. */
  metadata?: MetadataReader;
  peer?: string;
  /** Default: `performance.now()`. */
  startedAtMs?: number;
  /** The call's deadline on the `performance.now()` clock (see DEADLINE_SLOT). Default: not known here. */
  deadlineAtMs?: number;
  /** Makes the request id when the call has none. Default: a UUIDv7. */
  generateRequestId?: () => string;
}

/**
 * Longest `x-request-id` kept; longer values are replaced by a generated id.
 * @internal
 */
export const MAX_REQUEST_ID_LENGTH = 128;
// Visible ASCII only: a request id ends up in logs and queries, so no spaces, control or non-ASCII bytes.
const REQUEST_ID = /^[\x21-\x7e]+$/;

const storage = new AsyncLocalStorage<AuditScope>();

/**
 * The key of a scope's slot for what its call's handler reports (see handler-state.ts): a symbol, so
 * it stays out of the scope's keys and JSON.
 * @internal
 */
export const HANDLER_SLOT: unique symbol = Symbol("grpc-audit.handler");

/**
 * The key of a scope's slot for its call's deadline on the `performance.now()` clock: a cancel is
 * told from an expired deadline on it, which a step of the wall clock (NTP, a resumed VM) does not move.
 * @internal
 */
export const DEADLINE_SLOT: unique symbol = Symbol("grpc-audit.deadline");

/** A scope as `createAuditScope` makes it: with the handler and deadline slots, set from the start. @internal */
export interface ScopeRecord extends AuditScope {
  [HANDLER_SLOT]?: unknown;
  [DEADLINE_SLOT]?: number | undefined;
}

/**
 * Builds the scope of one call from its metadata. Never throws: a malformed `traceparent` leaves the
 * trace ids empty, a missing, oversized or non-printable `x-request-id` is replaced by a new id, and a
 * missing `user-agent` (or a binary one) leaves the user agent empty. The user agent is kept as sent:
 * the Recorder cuts it to its size limit like every text field of an event.
 * @internal
 */
export function createAuditScope(init: AuditScopeInit): AuditScope {
  const trace = firstString(init.metadata, "traceparent");
  const context = trace === undefined ? undefined : parseTraceparent(trace);
  const requestId = firstString(init.metadata, "x-request-id");
  const scope: ScopeRecord = {
    operation: init.operation,
    peer: init.peer ?? "",
    traceId: context?.traceId ?? "",
    spanId: context?.spanId ?? "",
    requestId: isValidRequestId(requestId) ? requestId : (init.generateRequestId ?? newEventId)(),
    userAgent: firstString(init.metadata, "user-agent") ?? "",
    startedAtMs: init.startedAtMs ?? performance.now(),
    actor: undefined,
    // In the literal, so that noting a handler later adds no property (no new shape, no allocation).
    [HANDLER_SLOT]: undefined,
    [DEADLINE_SLOT]: init.deadlineAtMs,
  };
  return scope;
}

/**
 * True when `value` is kept as a request id: 1 to 128 visible ASCII characters.
 * @internal
 */
export function isValidRequestId(value: string | undefined): value is string {
  return value !== undefined && value.length <= MAX_REQUEST_ID_LENGTH && REQUEST_ID.test(value);
}

/**
 * Runs `fn` with `scope` as the current audit scope (also in everything it starts asynchronously).
 * @internal
 */
export function runInAuditScope<T>(scope: AuditScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The scope of the RPC being served, or undefined outside an RPC. */
export function currentAuditScope(): AuditScope | undefined {
  return storage.getStore();
}

/** The authenticated caller of the RPC being served, or undefined when unknown or outside an RPC. */
export function currentActor(): Actor | undefined {
  return storage.getStore()?.actor;
}

/**
 * Attaches a fact to the RPC being served, such as `setAuditAttribute("tenant", "acme")`: every audit
 * event recorded for the call from then on carries it in its `attributes` map (a later value for the
 * same key replaces the earlier one; a record call's own `attributes` win over the call's). Named
 * after OpenTelemetry's `span.setAttribute`, which handlers already use for the same purpose; "audit"
 * says which record it lands in.
 *
 * The Recorder redacts values with its `redactPatterns` and cuts them to 256 bytes. Never throws;
 * returns false and keeps nothing outside an RPC, for a key that is not 1 to 64 visible ASCII
 * characters, for a value that is not a string, or for a 17th key (a call keeps at most 16).
 */
export function setAuditAttribute(key: string, value: string): boolean {
  const scope = storage.getStore();
  if (scope === undefined || !isAttributeKey(key) || typeof value !== "string") return false;
  const attributes = scope.attributes ?? new Map<string, string>();
  if (attributes.size >= MAX_ATTRIBUTES && !attributes.has(key)) return false;
  attributes.set(key, value);
  scope.attributes = attributes;
  return true;
}

function firstString(metadata: MetadataReader | undefined, key: string): string | undefined {
  if (metadata === undefined) return undefined;
  let values: ReadonlyArray<string | Buffer>;
  try {
    values = metadata.get(key);
  } catch {
    return undefined; // a hostile or broken metadata object must not break the call
  }
  const first = values[0];
  return typeof first === "string" ? first : undefined;
}
