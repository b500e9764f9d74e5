import type { AuthnAttempt, AuthnObserver } from "../authn/observer.js";
import type { AuthzCheck, AuthzObserver } from "../authz/observer.js";
import { statusName } from "../event/status.js";
import type { AuthnResultInput, AuthzDecisionInput } from "./inputs.js";

/** The observers to hand to the authn and authz layers. */
export interface AuditObservers {
  authn: AuthnObserver;
  authz: AuthzObserver;
}

const NOOP_OBSERVERS: AuditObservers = Object.freeze({ authn: () => {}, authz: () => {} });

/**
 * The Recorder's observers, or observers that do nothing when there is no Recorder, so wiring the
 * security layers never needs an `if`.
 *
 * ```ts
 * const observers = auditObservers(config.audit ? recorder : undefined);
 * ```
 */
export function auditObservers(recorder?: {
  authnObserver(): AuthnObserver;
  authzObserver(): AuthzObserver;
}): AuditObservers {
  if (recorder === undefined) return NOOP_OBSERVERS;
  return { authn: recorder.authnObserver(), authz: recorder.authzObserver() };
}

/** Maps an authn attempt to the input of `recordAuthnResult`. */
export function authnAttemptToInput(attempt: AuthnAttempt): AuthnResultInput {
  if (typeof attempt !== "object" || attempt === null) return attempt; // the Recorder refuses and reports it
  const input: AuthnResultInput = { method: attempt.method, success: attempt.success };
  if (attempt.actor !== undefined) input.actor = attempt.actor;
  if (!attempt.success) input.failureReason = attempt.failureReason ?? "error";
  return input;
}

/**
 * Maps an authz check to the input of `recordAuthzDecision`: an error makes the decision ERROR even
 * when `allowed` is true; otherwise no rule is NO_RULE, then allowed or denied.
 */
export function authzCheckToInput(check: AuthzCheck): AuthzDecisionInput {
  if (typeof check !== "object" || check === null) return check; // the Recorder refuses and reports it
  const decision =
    check.error !== undefined ? "error" : check.noRule ? "no_rule" : check.allowed ? "allowed" : "denied";
  const input: AuthzDecisionInput = {
    relation: check.relation,
    objectType: check.objectType,
    objectId: check.objectId,
    decision,
  };
  const errorReason = check.reason ?? (check.error === undefined ? undefined : errorCode(check.error));
  if (errorReason !== undefined) input.errorReason = errorReason;
  if (check.cacheHit !== undefined) input.cacheHit = check.cacheHit;
  if (check.storeId !== undefined) input.storeId = check.storeId;
  if (check.modelId !== undefined) input.modelId = check.modelId;
  if (check.statusCode !== undefined) {
    // The status the call got decides success: NO_RULE let through with "allow" is a success.
    input.result = { success: statusName(check.statusCode) === "OK", code: check.statusCode };
  }
  return input;
}

const SAFE_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A credential-free code for an error: its `code` when that is a short identifier, else its class
 * name. Messages are never used: SDK errors carry request data in them.
 */
export function errorCode(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const code = (error as { code?: unknown }).code;
    if ((typeof code === "string" || typeof code === "number") && SAFE_CODE.test(String(code)))
      return String(code);
    if (error instanceof Error && SAFE_CODE.test(error.name)) return error.name;
  }
  return "unknown_error";
}
