import { AsyncResource } from "node:async_hooks";
import {
  type Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  status as Status,
} from "@grpc/grpc-js";
import type { Authorizer, Decision } from "../authz/authorizer.js";
import { errorCode } from "../authz/error-code.js";
import type { AuthzDecisionInput, AuthzObserver } from "../authz/observer.js";
import { isValidOpenFgaId, isValidOpenFgaUser, OPENFGA_MAX_OBJECT_BYTES } from "../authz/openfga-id.js";
import { currentAuditScope } from "../context/scope.js";
import { AuditConfigError } from "../errors/index.js";
import type { AuthzOutcome } from "../event/builders.js";
import type { Actor } from "../gen/grpcaudit/v1/event.js";
import type { AuthzRule, AuthzRuleTable } from "../rules/authz-rule.js";
import { mergeAuthzRuleTables } from "../rules/authz-rule-table.js";
import type { OutboundStatus } from "./forwarding-call.js";
import { GatedCall } from "./gated-call.js";
import { cancelledCallStatus, isAtDeadline } from "./own-status.js";

/** Options of the authz interceptor: `authz` of `createAuditInterceptors` (which fills in `observer`). */
export interface AuthzInterceptorOptions {
  /** Answers the checks (such as the OpenFGA authorizer from `grpc-audit/openfga`). */
  authorizer: Authorizer;
  /** Generated authz rule tables (`authzRules` of each `_audit.ts` file); merged by method path. */
  rules: AuthzRuleTable | readonly AuthzRuleTable[];
  /** Told about every decision and refusal (use `recorder.authzObserver()`). Default: none. */
  observer?: AuthzObserver;
  /**
   * Default "deny": a method without an authz rule is refused with PERMISSION_DENIED and reported as
   * NO_RULE (fail-closed). "allow": it is let through and reported as NO_RULE with status OK.
   */
  missingRule?: "deny" | "allow";
  /**
   * The OpenFGA user of an actor, `type:id`. What it returns is checked before it is sent: a user that
   * is not valid in OpenFGA (`user:*`, a userset, whitespace, too long, no type) refuses the call with
   * INVALID_ARGUMENT `subject_id_invalid`; a throw or a result that is not a string refuses it with
   * UNAVAILABLE `to_user_failed`. Default: `user:<actor id>`.
   */
  toUser?: (actor: Actor) => string;
  /**
   * How long one check may take; then the call fails with DEADLINE_EXCEEDED. Default: 2000. Longer than
   * 2^31 - 1 (about 24.8 days, the longest Node timer) counts as that.
   */
  timeoutMs?: number;
}

/**
 * Status messages of authz refusals: fixed, so nothing about the object or the engine leaks.
 * @internal
 */
export const AUTHZ_MESSAGES = {
  noRule: "permission denied: no authorization rule",
  anonymous: "unauthenticated: authorization needs a caller",
  unresolved: "invalid argument: object id missing",
  invalidObject: "invalid argument: object id not valid",
  invalidSubject: "invalid argument: caller id not valid",
  denied: "permission denied",
  timeout: "authorization timed out",
  unavailable: "authorization unavailable",
  mismatch: "internal error: the authorization rule does not fit the method",
} as const;

/**
 * Checks every call against its method's authz rule before the handler runs, and reports every
 * outcome to the observer — also the refusals made without asking the authorizer: no rule
 * (PERMISSION_DENIED unless `missingRule: "allow"`), anonymous caller (UNAUTHENTICATED), object id
 * that cannot be resolved (INVALID_ARGUMENT), authorizer error (UNAVAILABLE) or timeout
 * (DEADLINE_EXCEEDED). Object ids and `toUser` results that are not valid OpenFGA ids (`*`, `:`, `#`, whitespace,
 * control characters, too long) are refused with INVALID_ARGUMENT and never sent to the authorizer. An
 * engine error is never reported as a deny. Object ids from request paths are
 * read from the first message (unary and server-streaming methods); from metadata or fixed otherwise.
 * A call that ends before that message passes (grpc-js refused it or answered it itself, the client
 * cancelled, the deadline passed) is reported as unresolved, with the status it ended with.
 * Place it after the authn interceptor (`createAuditInterceptors` does).
 * @internal
 */
export function createAuthzInterceptor(options: AuthzInterceptorOptions): ServerInterceptor {
  const config = resolveOptions(options);
  const { authorizer, observer, rules } = config;
  const report = (input: AuthzDecisionInput) => {
    try {
      observer?.(input);
    } catch {
      // An observer must not decide the call.
    }
  };
  const { storeId, modelId } = authorizer;

  /**
   * What every report of one call's check says, `code` being the status the call is answered with. A
   * literal with the same keys every time: the reports are built on every call, and spreads into
   * objects of varying shape made them a large share of the authz layer's cost in process.
   */
  function reportOf(
    rule: AuthzRule,
    objectId: string,
    decision: AuthzOutcome,
    code: Status,
  ): AuthzDecisionInput {
    const input: AuthzDecisionInput = {
      relation: rule.relation,
      objectType: rule.objectType,
      objectId,
      decision,
      result: { success: code === Status.OK, code },
    };
    if (storeId) input.storeId = storeId;
    if (modelId) input.modelId = modelId;
    return input;
  }

  /**
   * Decides one call: undefined when it may proceed, else the status to end it with. Synchronous for
   * the refusals made without the authorizer and for a decision the authorizer has cached. A call
   * that ends while the authorizer is asked (a client cancel, its deadline) is reported with the
   * status it ended with, read from `call` once the answer comes.
   */
  function decide(
    rule: AuthzRule,
    objectId: string,
    call: CheckedCall,
  ): Refusal | undefined | Promise<Refusal | undefined> {
    const actor = currentAuditScope()?.actor;
    if (actor === undefined) {
      const input = reportOf(rule, objectId, "denied", Status.UNAUTHENTICATED);
      input.errorReason = "anonymous";
      report(input);
      return { code: Status.UNAUTHENTICATED, details: AUTHZ_MESSAGES.anonymous };
    }
    if (objectId === "") {
      const input = reportOf(rule, objectId, "error", Status.INVALID_ARGUMENT);
      input.errorReason = "object_id_unresolved";
      report(input);
      return { code: Status.INVALID_ARGUMENT, details: AUTHZ_MESSAGES.unresolved };
    }
    // Never sent to OpenFGA: `*` is its wildcard, `:` and `#` would name another object or a userset.
    if (!isValidOpenFgaId(rule.objectType, objectId, OPENFGA_MAX_OBJECT_BYTES)) {
      return refuseInvalid(rule, objectId, "object_id_invalid", AUTHZ_MESSAGES.invalidObject);
    }
    let user: unknown;
    try {
      user = config.toUser(actor);
    } catch (error) {
      // The engine cannot be asked: refused as unavailable, with a reason that does not blame it.
      return conclude(rule, objectId, { kind: "error", reason: "to_user_failed", error });
    }
    if (typeof user !== "string") {
      const error = new TypeError("toUser returned no string");
      return conclude(rule, objectId, { kind: "error", reason: "to_user_failed", error });
    }
    // What is sent is checked, not the actor id: a toUser may hash or map an id OpenFGA would refuse.
    if (!isValidOpenFgaUser(user)) {
      return refuseInvalid(rule, objectId, "subject_id_invalid", AUTHZ_MESSAGES.invalidSubject);
    }
    const request = { user, relation: rule.relation, object: `${rule.objectType}:${objectId}` };
    let cached: Decision | undefined;
    try {
      cached = authorizer.cached?.(request);
    } catch (error) {
      cached = { kind: "error", reason: "cache_failed", error };
    }
    if (cached !== undefined) return conclude(rule, objectId, cached);
    return checkWithTimeout(request).then((decision) => conclude(rule, objectId, decision, call.endedWith));
  }

  /** Reports and refuses a call whose object or subject id is not a valid OpenFGA id. */
  function refuseInvalid(rule: AuthzRule, objectId: string, reason: string, details: string): Refusal {
    const input = reportOf(rule, objectId, "error", Status.INVALID_ARGUMENT);
    input.errorReason = reason;
    report(input);
    return { code: Status.INVALID_ARGUMENT, details };
  }

  /**
   * Reports the authorizer's decision; the status to end the call with, or undefined to proceed.
   * `ended`: the status the call already ended with while the authorizer was asked; it is reported
   * instead, as the status the client got (the decision no longer decides anything).
   */
  function conclude(
    rule: AuthzRule,
    objectId: string,
    answer: Decision,
    ended?: { code: number },
  ): Refusal | undefined {
    const decision = checkedDecision(answer);
    if (decision.kind === "error") {
      const timedOut = decision.reason === "timeout";
      const code = timedOut ? Status.DEADLINE_EXCEEDED : Status.UNAVAILABLE;
      const input = reportOf(rule, objectId, "error", ended?.code ?? code);
      // An authorizer written in JavaScript may give no reason: then the error's code names it.
      input.errorReason = decision.reason ?? errorCode(decision.error);
      report(input);
      return { code, details: timedOut ? AUTHZ_MESSAGES.timeout : AUTHZ_MESSAGES.unavailable };
    }
    const allowed = decision.kind === "allowed";
    const input = reportOf(
      rule,
      objectId,
      decision.kind,
      ended?.code ?? (allowed ? Status.OK : Status.PERMISSION_DENIED),
    );
    input.cacheHit = decision.cacheHit;
    report(input);
    return allowed ? undefined : DENIED;
  }

  async function checkWithTimeout(request: Parameters<Authorizer["check"]>[0]): Promise<Decision> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Decision>((resolve) => {
      timer = setTimeout(
        () => {
          controller.abort();
          resolve({ kind: "error", reason: "timeout", error: new Error("authorization timed out") });
        },
        Math.min(config.timeoutMs, MAX_TIMER_MS),
      );
    });
    try {
      const checked = Promise.resolve()
        .then(() => authorizer.check(request, { signal: controller.signal }))
        .catch((error: unknown): Decision => ({ kind: "error", reason: "unavailable", error }));
      return await Promise.race([checked, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Reports a call that ended, with `code`, before the request message its object id is read from
   * passed: grpc-js refused the request (it could not decode or take it, there was none) or the client
   * cancelled or its deadline passed first. Unchecked, as for an id that cannot be resolved.
   */
  function endedUnchecked(rule: AuthzRule, code: number): void {
    const input = reportOf(rule, "", "error", code);
    input.errorReason = "object_id_unresolved";
    report(input);
  }

  return (methodDescriptor, call) => {
    const rule = rules.get(methodDescriptor.path);
    if (rule?.public) return new ServerInterceptingCall(call);
    if (rule === undefined) {
      const allow = config.missingRule === "allow";
      // A status OK when let through: NO_RULE with "allow" is a success.
      const code = allow ? Status.OK : Status.PERMISSION_DENIED;
      const input: AuthzDecisionInput = {
        relation: "",
        objectType: "",
        objectId: "",
        decision: "no_rule",
        result: { success: allow, code },
      };
      return new DecidedCall(
        call,
        input,
        allow ? undefined : { code, details: AUTHZ_MESSAGES.noRule },
        report,
      );
    }
    if (methodDescriptor.requestStream && rule.objectIdSource.startsWith("req.")) {
      // A table from an older proto, where the method took one request: its handler now starts before
      // the message the id is read from, so the check could only come after the handler ran.
      const input = reportOf(rule, "", "error", Status.INTERNAL);
      input.errorReason = "rule_mismatch";
      return new DecidedCall(
        call,
        input,
        { code: Status.INTERNAL, details: AUTHZ_MESSAGES.mismatch },
        report,
      );
    }
    return new AuthzCall(call, rule, decide, endedUnchecked);
  };
}

/** What `decide` reads of a call whose check waits for the authorizer. */
interface CheckedCall {
  /** The status the call ended with while its check waited (a client cancel, its deadline), if it did. */
  readonly endedWith: { code: number } | undefined;
}

/** One call of a method with an authz rule: held at the event that carries the object id until decided. */
class AuthzCall extends GatedCall implements CheckedCall {
  private readonly idFromRequest: boolean;
  /** True once the call was checked (at its metadata, or at its first message). */
  private checked = false;
  /** True once its metadata passed, while the request message its object id is read from is awaited. */
  private awaitingRequest = false;
  /** True while its check waits for the authorizer. */
  private waiting = false;
  /**
   * The async context its metadata passed in, for a check at the request message: grpc-js delivers
   * the message in whatever context it decoded it in (on a connection's first call, that of a span a
   * later interceptor opened), and the decision's trace ids are read from the active context.
   */
  private metadataContext: AsyncResource | undefined;
  endedWith: { code: number } | undefined;

  constructor(
    inner: ServerInterceptingCallInterface,
    private readonly rule: AuthzRule,
    private readonly decide: (
      rule: AuthzRule,
      objectId: string,
      call: CheckedCall,
    ) => Refusal | undefined | Promise<Refusal | undefined>,
    private readonly endedUnchecked: (rule: AuthzRule, code: number) => void,
  ) {
    super(inner);
    this.idFromRequest = rule.objectIdSource.startsWith("req.");
  }

  protected override receiveMetadata(metadata: Metadata): void {
    if (this.idFromRequest) {
      this.awaitingRequest = true;
      this.metadataContext = new AsyncResource("grpc-audit.authz");
      this.passMetadata(metadata);
    } else {
      this.checked = true;
      this.check(readObjectId(this.rule, undefined, metadata), metadata, false);
    }
  }

  protected override receiveMessage(message: unknown): void {
    if (this.checked) {
      this.passMessage(message);
    } else {
      this.checked = true;
      this.awaitingRequest = false;
      // grpc-js asks for the half-close only after this message is passed on, so the handler waits too.
      const objectId = readObjectId(this.rule, message, emptyMetadata);
      const captured = this.metadataContext;
      this.metadataContext = undefined;
      if (captured === undefined) this.check(objectId, message, true);
      else captured.runInAsyncScope(this.check, this, objectId, message, true);
    }
  }

  /** Decides the call and then passes `event` on (or refuses the call), now or once the check answers. */
  private check(objectId: string, event: unknown, isMessage: boolean): void {
    let refusal: ReturnType<typeof this.decide>;
    try {
      refusal = this.decide(this.rule, objectId, this);
    } catch {
      this.refuse(UNAVAILABLE); // a throwing toUser or authorizer: the engine's answer is unknown
      return;
    }
    if (refusal instanceof Promise) {
      this.hold();
      this.waiting = true;
      refusal.then(
        (settled) => this.finish(settled, event, isMessage),
        () => this.refuse(UNAVAILABLE),
      );
    } else {
      this.finish(refusal, event, isMessage);
    }
  }

  // grpc-js reports a client cancel or an expired deadline here (and the end of every call). A call
  // that ends so while its check waits never reaches its handler: the decision, once it comes, is the
  // call's only record, and carries the status the client got (not OK for an allowed one).
  override onCancel(): void {
    if (this.waiting && this.endedWith === undefined) {
      this.endedWith = cancelledCallStatus(currentAuditScope(), this.inner.getDeadline());
    } else if (this.awaitingRequest) {
      // Ended before its request message came: grpc-js sent its own status past the interceptors (a
      // message it could not decode, decompress or take), or the client cancelled, or the deadline passed.
      this.awaitingRequest = false;
      const { code } = cancelledCallStatus(currentAuditScope(), this.inner.getDeadline());
      this.inMetadataContext(() => this.endedUnchecked(this.rule, code));
    }
    super.onCancel();
  }

  // grpc-js answers a unary or server-streaming call that half-closes without a request message
  // UNIMPLEMENTED itself, through the interceptors, without running the handler: never checked either.
  // It reads a client's reset as that half-close too: one at the deadline is the deadline expiring.
  override sendStatus(status: OutboundStatus): void {
    if (this.awaitingRequest) {
      this.awaitingRequest = false;
      const code = isAtDeadline(this.inner.getDeadline()) ? Status.DEADLINE_EXCEEDED : status.code;
      this.inMetadataContext(() => this.endedUnchecked(this.rule, code));
    }
    this.inner.sendStatus(status);
  }

  /** Runs a report in the context the metadata passed in, as the check at the message is. */
  private inMetadataContext(fn: () => void): void {
    const captured = this.metadataContext;
    this.metadataContext = undefined;
    if (captured === undefined) fn();
    else captured.runInAsyncScope(fn);
  }

  private finish(refusal: Refusal | undefined, event: unknown, isMessage: boolean): void {
    this.waiting = false;
    if (refusal !== undefined) this.refuse(refusal);
    else if (isMessage) this.passMessage(event);
    else this.passMetadata(event as Metadata);
  }
}

/** The object id of a call; "" (unresolved) when a hand-written reader throws (generated ones never do). */
function readObjectId(rule: AuthzRule, message: unknown, metadata: Pick<Metadata, "get">): string {
  try {
    return rule.objectId(message, metadata as Metadata);
  } catch {
    return "";
  }
}

/**
 * A call decided by its method alone: without an authz rule (NO_RULE, refused with PERMISSION_DENIED or
 * let through when `missingRule` is "allow"), or with a rule that does not fit it. Reported once its
 * metadata arrives (inside the audit scope), then refused or let through.
 */
class DecidedCall extends GatedCall {
  constructor(
    inner: ServerInterceptingCallInterface,
    private readonly input: AuthzDecisionInput,
    private readonly refusal: Refusal | undefined,
    private readonly report: (input: AuthzDecisionInput) => void,
  ) {
    super(inner);
  }

  protected override receiveMetadata(metadata: Metadata): void {
    this.report(this.input);
    if (this.refusal === undefined) this.passMetadata(metadata);
    else this.refuse(this.refusal);
  }
}

/** The longest delay a Node timer holds; setTimeout fires a longer one after 1 ms, timing out every check. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const UNAVAILABLE = { code: Status.UNAVAILABLE, details: AUTHZ_MESSAGES.unavailable };
const DENIED = { code: Status.PERMISSION_DENIED, details: AUTHZ_MESSAGES.denied };
const emptyMetadata = { get: () => [] };

/** How a refused call ends. */
interface Refusal {
  code: Status;
  details: string;
}

function resolveOptions(options: AuthzInterceptorOptions) {
  const fail = (problem: string): never => {
    throw new AuditConfigError(`authz interceptor: ${problem}`);
  };
  if (typeof options !== "object" || options === null) fail("options must be an object");
  const { authorizer, observer, missingRule = "deny", toUser, timeoutMs = 2000 } = options;
  if (typeof authorizer?.check !== "function") fail("`authorizer` must be an Authorizer");
  if (observer !== undefined && typeof observer !== "function") fail("`observer` must be a function");
  if (missingRule !== "deny" && missingRule !== "allow")
    fail(`missingRule must be "deny" or "allow", got ${String(missingRule)}`);
  if (toUser !== undefined && typeof toUser !== "function") fail("`toUser` must be a function");
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) fail("`timeoutMs` must be a positive number");
  return {
    authorizer,
    observer,
    missingRule,
    toUser: toUser ?? ((actor: Actor) => `user:${actor.id}`),
    timeoutMs,
    rules: mergeAuthzRuleTables(options.rules),
  };
}

/**
 * The decision in the contract's shape, copied, else an error: an authorizer written in JavaScript may
 * answer nothing, which must refuse the call, reported like any engine failure. A `cacheHit` that is
 * not a boolean is left out and a `reason` that is not a string is dropped (the error's code names it
 * then): passed on, they made a report the Recorder refuses, and the decision was missing from the trail.
 */
function checkedDecision(answer: unknown): Decision {
  try {
    if (typeof answer === "object" && answer !== null) {
      const { kind } = answer as { kind?: unknown };
      if (kind === "allowed" || kind === "denied") {
        const { cacheHit } = answer as { cacheHit?: unknown };
        return { kind, cacheHit: cacheHit === true };
      }
      if (kind === "error") {
        const { reason, error } = answer as { reason?: unknown; error?: unknown };
        return {
          kind,
          reason: typeof reason === "string" ? reason : errorCode(error),
          error,
        };
      }
    }
  } catch {
    // A getter or Proxy trap that throws: as an answer without a decision.
  }
  return {
    kind: "error",
    reason: "unavailable",
    error: new TypeError("the authorizer answered no decision"),
  };
}
