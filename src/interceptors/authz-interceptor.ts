import { ServerInterceptingCall, type ServerInterceptor, status as Status } from "@grpc/grpc-js";
import type { Authorizer, Decision } from "../authz/authorizer.js";
import { errorCode } from "../authz/error-code.js";
import type { AuthzDecisionInput, AuthzObserver } from "../authz/observer.js";
import { isValidOpenFgaId, isValidOpenFgaUser, OPENFGA_MAX_OBJECT_BYTES } from "../authz/openfga-id.js";
import { currentAuditScope } from "../context/scope.js";
import { AuditConfigError } from "../errors/index.js";
import { checkTimerMs } from "../errors/option-checks.js";
import type { AuthzOutcome } from "../event/builders.js";
import type { Actor } from "../gen/grpcaudit/v1/event.js";
import { NO_PENDING_RECORDS, type PendingRecords } from "../recorder/pending-records.js";
import type { AuthzRule, AuthzRuleTable } from "../rules/authz-rule.js";
import { mergeAuthzRuleTables } from "../rules/authz-rule-table.js";
import { AuthzCall, type CheckedCall, DecidedCall } from "./authz-calls.js";
import { AUTHZ_MESSAGES, DENIED_REFUSAL, type Refusal } from "./authz-refusals.js";

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
   * UNAVAILABLE `to_user_failed`. What it returns is recorded as the event's `authz.user`. Default:
   * `user:<actor id>`.
   */
  toUser?: (actor: Actor) => string;
  /**
   * How long one check may take; then the call fails with DEADLINE_EXCEEDED. A whole number of
   * milliseconds, 1 to 2^31 - 1 (about 24.8 days, the longest Node timer). Default: 2000.
   */
  timeoutMs?: number;
}

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
 * Place it after the authn interceptor (`createAuditInterceptors` does). `pending`: the Recorder's count
 * of records still to come, noted while a check waits for the authorizer or for the request message.
 * `credentialKeys`: the metadata keys the authenticators read credentials from (see
 * `mergeAuthzRuleTables`), refused as object id sources.
 * @internal
 */
export function createAuthzInterceptor(
  options: AuthzInterceptorOptions,
  pending: PendingRecords = NO_PENDING_RECORDS,
  credentialKeys?: ReadonlyMap<string, string>,
): ServerInterceptor {
  const config = resolveOptions(options, credentialKeys);
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
   * What every report of one call's check says, `code` being the status the call is answered with and
   * `user` what `toUser` gave, once it was called. A literal with the same keys every time: the reports
   * are built on every call, and spreads into objects of varying shape made them a large share of the
   * authz layer's cost in process.
   */
  function reportOf(
    rule: AuthzRule,
    objectId: string,
    decision: AuthzOutcome,
    code: Status,
    user?: string,
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
    if (user !== undefined) input.user = user;
    return input;
  }

  /**
   * Decides one call: undefined when it may proceed, else the status to end it with. Synchronous for
   * the refusals made without the authorizer and for a decision the authorizer has cached. A call
   * that ends while the authorizer is asked (a client cancel, its deadline) aborts the check's signal
   * and is reported with the status it ended with, read from `call` once the answer comes.
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
      return conclude(rule, objectId, undefined, { kind: "error", reason: "to_user_failed", error });
    }
    if (typeof user !== "string") {
      const error = new TypeError("toUser returned no string");
      return conclude(rule, objectId, undefined, { kind: "error", reason: "to_user_failed", error });
    }
    // What is sent is checked, not the actor id: a toUser may hash or map an id OpenFGA would refuse.
    // The refused user is recorded as a refused object id is (the Recorder cuts it to its text limits).
    if (!isValidOpenFgaUser(user)) {
      return refuseInvalid(rule, objectId, "subject_id_invalid", AUTHZ_MESSAGES.invalidSubject, user);
    }
    const request = { user, relation: rule.relation, object: `${rule.objectType}:${objectId}` };
    let cached: Decision | undefined;
    try {
      cached = authorizer.cached?.(request);
    } catch (error) {
      cached = { kind: "error", reason: "cache_failed", error };
    }
    if (cached !== undefined) return conclude(rule, objectId, user, cached);
    return checkWithTimeout(request, call).then((decision) =>
      conclude(rule, objectId, user, decision, call.endedWith),
    );
  }

  /** Reports and refuses a call whose object or subject id (`user`) is not a valid OpenFGA id. */
  function refuseInvalid(
    rule: AuthzRule,
    objectId: string,
    reason: string,
    details: string,
    user?: string,
  ): Refusal {
    const input = reportOf(rule, objectId, "error", Status.INVALID_ARGUMENT, user);
    input.errorReason = reason;
    report(input);
    return { code: Status.INVALID_ARGUMENT, details };
  }

  /**
   * Reports the authorizer's decision; the status to end the call with, or undefined to proceed.
   * `user`: the OpenFGA user checked, undefined when `toUser` gave none. `ended`: the status the call
   * already ended with while the authorizer was asked; it is reported instead, as the status the
   * client got (the decision no longer decides anything).
   */
  function conclude(
    rule: AuthzRule,
    objectId: string,
    user: string | undefined,
    answer: Decision,
    ended?: { code: number },
  ): Refusal | undefined {
    const decision = checkedDecision(answer);
    if (decision.kind === "error") {
      const timedOut = decision.reason === "timeout";
      const code = timedOut ? Status.DEADLINE_EXCEEDED : Status.UNAVAILABLE;
      const input = reportOf(rule, objectId, "error", ended?.code ?? code, user);
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
      user,
    );
    input.cacheHit = decision.cacheHit;
    report(input);
    return allowed ? undefined : DENIED_REFUSAL;
  }

  /**
   * Asks the authorizer, with a signal that aborts after `timeoutMs` or when the call ends first (a
   * client cancel, its deadline). The latter only cancels the request: its answer is still awaited
   * (the OpenFGA authorizer gives it at once), to be recorded with the status the call ended with.
   */
  async function checkWithTimeout(
    request: Parameters<Authorizer["check"]>[0],
    call: CheckedCall,
  ): Promise<Decision> {
    const controller = new AbortController();
    call.abortOnEnd(controller);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Decision>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve({ kind: "error", reason: "timeout", error: new Error("authorization timed out") });
      }, config.timeoutMs);
    });
    try {
      const checked = Promise.resolve()
        .then(() => authorizer.check(request, { signal: controller.signal }))
        // A rejection after the signal aborted (its timeout, the call's end) is that abort, not an outage:
        // "timeout", as the OpenFGA authorizer reports it.
        .catch(
          (error: unknown): Decision => ({
            kind: "error",
            reason: controller.signal.aborted ? "timeout" : "unavailable",
            error,
          }),
        );
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
    return new AuthzCall(call, rule, decide, endedUnchecked, pending);
  };
}

function resolveOptions(options: AuthzInterceptorOptions, credentialKeys?: ReadonlyMap<string, string>) {
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
  checkTimerMs("authz interceptor: `timeoutMs`", timeoutMs);
  return {
    authorizer,
    observer,
    missingRule,
    toUser: toUser ?? ((actor: Actor) => `user:${actor.id}`),
    timeoutMs,
    rules: mergeAuthzRuleTables(options.rules, credentialKeys),
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
