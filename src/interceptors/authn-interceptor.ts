import {
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  status as Status,
} from "@grpc/grpc-js";
import type { Authenticator, AuthnCallInfo, AuthnOutcome } from "../authn/authenticator.js";
import type { AuthnObserver, AuthnResultInput } from "../authn/observer.js";
import { currentAuditScope } from "../context/scope.js";
import { AuditConfigError } from "../errors/index.js";
import {
  ACTOR_TYPES,
  type ActorInput,
  type ActorKind,
  AUTHN_FAILURE_REASONS,
  type AuthnFailureCode,
  toActor,
} from "../event/builders.js";
import { NO_PENDING_RECORDS, type PendingRecords } from "../recorder/pending-records.js";
import { GatedCall } from "./gated-call.js";
import { cancelledCallStatus } from "./own-status.js";
import { DEFAULT_HANDLER_SETTLE_TIMEOUT_MS } from "./rules-interceptor.js";

/** Options of the authn interceptor: `authn` of `createAuditInterceptors` (which fills in `observer`). */
export interface AuthnInterceptorOptions {
  /** Tried in order; the first that finds its kind of credential decides. At least one. */
  authenticators: readonly Authenticator[];
  /** Told about every attempt (use `recorder.authnObserver()`). Default: none. */
  observer?: AuthnObserver;
  /**
   * Methods callable without credentials: full paths ("/pkg.Service/Method") or service prefixes
   * ("/pkg.Service/"). A credential that is presented is still checked, and refused when bad.
   * Default: none; every method needs a caller.
   */
  allowAnonymous?: readonly string[];
}

/**
 * Authenticates every call before its handler runs: puts the caller into the audit scope (so events
 * and `currentActor()` name it), reports each attempt to the observer, and rejects with
 * UNAUTHENTICATED when a method needs a caller and there is none, or when a presented credential is
 * refused; with UNAVAILABLE when the credential could not be checked (reason "error": the key set
 * could not be fetched, an authenticator threw). Place it after the audit scope interceptor
 * (`createAuditInterceptors` does). `pending`: the Recorder's count of records still to come, noted
 * while an authenticator answers asynchronously.
 * @internal
 */
export function createAuthnInterceptor(
  options: AuthnInterceptorOptions,
  pending: PendingRecords = NO_PENDING_RECORDS,
): ServerInterceptor {
  const { authenticators, observer, anonymous } = resolveOptions(options);
  // A call that ended while its authenticators were asked (a client cancel, its deadline) is reported
  // with the status it ended with: the attempt is then the call's only record.
  const notify = (input: AuthnResultInput, call: AuthnCall) => {
    const ended = call.endedWith;
    if (ended !== undefined) input.result = { success: false, code: ended.code };
    // Recorded with the status the client gets: an authenticator's error is no bad credential.
    else if (input.failureReason === "error") input.result = { success: false, code: Status.UNAVAILABLE };
    try {
      observer?.(input);
    } catch {
      // An observer must not decide the call.
    }
  };

  /**
   * Tries the authenticators from `from` on; the refusal code, or undefined when the call may go on.
   * Synchronous as long as the authenticators answer synchronously (a cached token does).
   */
  function authenticate(
    metadata: Metadata,
    info: AuthnCallInfo,
    call: AuthnCall,
    from = 0,
  ): AuthnFailureCode | undefined | Promise<AuthnFailureCode | undefined> {
    for (let i = from; i < authenticators.length; i++) {
      const authenticator = authenticators[i] as Authenticator;
      let outcome: AuthnOutcome | Promise<AuthnOutcome>;
      try {
        outcome = authenticator.authenticate(metadata, info);
      } catch {
        outcome = ERROR_OUTCOME;
      }
      if (isPromiseLike(outcome)) {
        return Promise.resolve(outcome)
          .catch(() => ERROR_OUTCOME)
          .then((settled) => {
            const decided = conclude(authenticator, checkedOutcome(settled), call);
            return decided === TRY_NEXT ? authenticate(metadata, info, call, i + 1) : decided;
          });
      }
      const decided = conclude(authenticator, checkedOutcome(outcome), call);
      if (decided !== TRY_NEXT) return decided;
    }
    if (anonymous(info.method)) return undefined;
    notify(
      {
        method: authenticators.map((a) => a.method).join(","),
        success: false,
        failureReason: "missing",
      },
      call,
    );
    return "missing";
  }

  /** Reports one authenticator's outcome; TRY_NEXT when it found no credential of its kind. */
  function conclude(
    authenticator: Authenticator,
    outcome: AuthnOutcome,
    call: AuthnCall,
  ): AuthnFailureCode | undefined | typeof TRY_NEXT {
    if (outcome.kind === "absent") return TRY_NEXT;
    if (outcome.kind === "refused") {
      // An authenticator written in JavaScript may give no reason: it is then "error", as a throw is.
      const failureReason = outcome.reason ?? "error";
      notify({ method: authenticator.method, success: false, failureReason }, call);
      return failureReason;
    }
    notify({ method: authenticator.method, success: true, actor: outcome.actor }, call);
    const scope = currentAuditScope();
    if (scope !== undefined) scope.actor = toActor(outcome.actor);
    return undefined;
  }

  return (methodDescriptor, call) => new AuthnCall(call, methodDescriptor.path, authenticate, pending);
}

/** One call seen by the authn interceptor: its metadata waits for the authenticators' verdict. */
class AuthnCall extends GatedCall {
  /** True while an authenticator's answer is awaited. */
  private waiting = false;
  /** True while the Recorder's close() waits for the attempt's record (see `release`). */
  private recordHeld = false;
  /** The status the call ended with while an authenticator's answer was awaited, if it did. */
  endedWith: { code: number } | undefined;

  constructor(
    inner: ServerInterceptingCallInterface,
    private readonly method: string,
    private readonly authenticate: (
      metadata: Metadata,
      info: AuthnCallInfo,
      call: AuthnCall,
    ) => AuthnFailureCode | undefined | Promise<AuthnFailureCode | undefined>,
    private readonly pending: PendingRecords,
  ) {
    super(inner);
  }

  protected override receiveMetadata(metadata: Metadata): void {
    let refusal: ReturnType<typeof this.authenticate>;
    try {
      refusal = this.authenticate(metadata, { method: this.method, peer: this.inner.getPeer() }, this);
    } catch {
      refusal = "error"; // never let a bug here escape into grpc-js (an unhandled rejection there)
    }
    if (refusal instanceof Promise) {
      this.hold();
      this.waiting = true;
      // The attempt is recorded when the answer comes: the Recorder's close() waits for it.
      this.recordHeld = true;
      this.pending.add();
      refusal.then(
        (settled) => this.answered(settled, metadata),
        () => this.answered("error", metadata),
      );
    } else {
      this.finish(refusal, metadata);
    }
  }

  // grpc-js reports a client cancel or an expired deadline here (and the end of every call). A call
  // that ends so while its authenticators are asked never reaches its handler: the attempt, once
  // answered, is the call's only record, and carries the status the client got.
  override onCancel(): void {
    if (this.waiting && this.endedWith === undefined) {
      this.endedWith = cancelledCallStatus(currentAuditScope(), this.inner.getDeadline());
      // An authenticator has no timeout of its own: one that never answers would hold every later
      // close() of the process for its whole closeWaitMs. Its call is over; waited for this long, no more.
      setTimeout(() => this.release(), DEFAULT_HANDLER_SETTLE_TIMEOUT_MS).unref();
    }
    super.onCancel();
  }

  /** Ends the wait for an authenticator's answer, which was recorded. */
  private answered(refusal: AuthnFailureCode | undefined, metadata: Metadata): void {
    try {
      this.finish(refusal, metadata);
    } finally {
      // After the metadata passed on: the rules interceptor has noted the call's own event by then.
      this.release();
    }
  }

  /** Tells the Recorder the attempt's record is written, or no longer waited for; once. */
  private release(): void {
    if (!this.recordHeld) return;
    this.recordHeld = false;
    this.pending.done();
  }

  private finish(refusal: AuthnFailureCode | undefined, metadata: Metadata): void {
    this.waiting = false;
    if (refusal === "error") {
      // Not the caller's fault (an identity provider down, an authenticator's bug): a client that drops
      // its token on UNAUTHENTICATED must not treat an outage as a bad credential. As authz's errors.
      this.refuse(UNAVAILABLE_REFUSAL);
    } else if (refusal !== undefined) {
      this.refuse({ code: Status.UNAUTHENTICATED, details: `unauthenticated: ${refusal}` });
    } else {
      this.passMetadata(metadata);
    }
  }
}

/** How a call whose credential could not be checked (reason "error") ends: fixed, credential-free. */
const UNAVAILABLE_REFUSAL = { code: Status.UNAVAILABLE, details: "authentication unavailable" } as const;
const ERROR_OUTCOME: AuthnOutcome = { kind: "refused", reason: "error" };
const ABSENT_OUTCOME: AuthnOutcome = { kind: "absent" };

/**
 * The outcome in the contract's shape, copied, else a refusal with reason "error", as for a throw: an
 * authenticator written in JavaScript may answer nothing, a success without an actor (or without a
 * string id), an actor whose fields the event schema cannot hold (a type other than user, service,
 * system or anonymous, a name that is not a string), or a refusal reason the schema has no value for.
 * None of these may break the call, name a caller, or make an event the Recorder refuses: the attempt
 * (and every later event of the call, which names the actor) would then be missing from the trail.
 */
function checkedOutcome(outcome: unknown): AuthnOutcome {
  try {
    if (typeof outcome !== "object" || outcome === null) return ERROR_OUTCOME;
    const { kind } = outcome as { kind?: unknown };
    if (kind === "absent") return ABSENT_OUTCOME;
    if (kind === "refused") {
      const { reason } = outcome as { reason?: unknown };
      return typeof reason === "string" && Object.hasOwn(AUTHN_FAILURE_REASONS, reason)
        ? { kind: "refused", reason: reason as AuthnFailureCode }
        : ERROR_OUTCOME;
    }
    if (kind === "authenticated") {
      const actor = checkedActor((outcome as { actor?: unknown }).actor);
      if (actor !== undefined) return { kind: "authenticated", actor };
    }
  } catch {
    // A getter or Proxy trap that throws: as a throw of the authenticator.
  }
  return ERROR_OUTCOME;
}

const ACTOR_TEXT_FIELDS = ["displayName", "email", "subject", "clientId", "realm"] as const;

/** A plain copy of an actor the event schema can hold (each field read once), else undefined. */
function checkedActor(actor: unknown): ActorInput | undefined {
  if (typeof actor !== "object" || actor === null) return undefined;
  const fields = actor as Record<string, unknown>;
  const id = fields.id;
  if (typeof id !== "string" || id === "") return undefined;
  const copy: ActorInput = { id };
  const type = fields.type;
  if (type !== undefined) {
    if (typeof type !== "string" || !Object.hasOwn(ACTOR_TYPES, type)) return undefined;
    copy.type = type as ActorKind;
  }
  for (const field of ACTOR_TEXT_FIELDS) {
    const value = fields[field];
    if (value === undefined) continue;
    if (typeof value !== "string") return undefined;
    copy[field] = value;
  }
  return copy;
}
const TRY_NEXT = Symbol("try the next authenticator");

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

function resolveOptions(options: AuthnInterceptorOptions) {
  const fail = (problem: string): never => {
    throw new AuditConfigError(`authn interceptor: ${problem}`);
  };
  if (typeof options !== "object" || options === null) fail("options must be an object");
  const { authenticators, observer, allowAnonymous = [] } = options;
  if (!Array.isArray(authenticators) || authenticators.length === 0)
    fail("`authenticators` must list at least one");
  for (const [i, a] of authenticators.entries()) {
    if (typeof a?.authenticate !== "function" || typeof a.method !== "string" || a.method === "") {
      fail(`authenticators[${i}] must have a method name and an authenticate function`);
    }
  }
  if (observer !== undefined && typeof observer !== "function") fail("`observer` must be a function");
  if (
    !Array.isArray(allowAnonymous) ||
    allowAnonymous.some((p) => typeof p !== "string" || !p.startsWith("/"))
  ) {
    fail('`allowAnonymous` must list method paths or service prefixes starting with "/"');
  }
  const exact = new Set(allowAnonymous.filter((p) => !p.endsWith("/")));
  const prefixes = allowAnonymous.filter((p) => p.endsWith("/"));
  return {
    authenticators,
    observer,
    anonymous: (method: string) => exact.has(method) || prefixes.some((prefix) => method.startsWith(prefix)),
  };
}
