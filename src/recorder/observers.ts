import type { AuthnAttempt } from "../authn/observer.js";
import type { AuthzCheck } from "../authz/observer.js";
import { statusName } from "../event/status.js";
import type { AuthnResultInput, AuthzDecisionInput } from "./inputs.js";

// The mappings below read each field of the attempt or check once, into a local: a getter cannot give
// one value to a test and another to the input. The Recorder then copies and checks the input.

/**
 * Maps an authn attempt to the input of `recordAuthnResult`.
 * @internal
 */
export function authnAttemptToInput(attempt: AuthnAttempt): AuthnResultInput {
  if (typeof attempt !== "object" || attempt === null) return attempt; // the Recorder refuses and reports it
  const { method, success, actor, failureReason } = attempt;
  const input: AuthnResultInput = { method, success };
  if (actor !== undefined) input.actor = actor;
  if (!success) input.failureReason = failureReason ?? "error";
  return input;
}

/**
 * Maps an authz check to the input of `recordAuthzDecision`: an error makes the decision ERROR even
 * when `allowed` is true; otherwise no rule is NO_RULE, then allowed or denied.
 * @internal
 */
export function authzCheckToInput(check: AuthzCheck): AuthzDecisionInput {
  if (typeof check !== "object" || check === null) return check; // the Recorder refuses and reports it
  const { relation, objectType, objectId, error, noRule, allowed, reason, cacheHit, storeId, modelId } =
    check;
  const { statusCode } = check;
  const decision = error !== undefined ? "error" : noRule ? "no_rule" : allowed ? "allowed" : "denied";
  const input: AuthzDecisionInput = { relation, objectType, objectId, decision };
  const errorReason = reason ?? (error === undefined ? undefined : errorCode(error));
  if (errorReason !== undefined) input.errorReason = errorReason;
  if (cacheHit !== undefined) input.cacheHit = cacheHit;
  if (storeId !== undefined) input.storeId = storeId;
  if (modelId !== undefined) input.modelId = modelId;
  if (statusCode !== undefined) {
    // The status the call got decides success: NO_RULE let through with "allow" is a success.
    input.result = { success: statusName(statusCode) === "OK", code: statusCode };
  }
  return input;
}

const SAFE_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A credential-free code for an error: its `code` when that is a short identifier, else its class
 * name. Messages are never used: SDK errors carry request data in them.
 * @internal
 */
export function errorCode(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const code: unknown = (error as { code?: unknown }).code;
    if ((typeof code === "string" || typeof code === "number") && SAFE_CODE.test(String(code)))
      return String(code);
    if (error instanceof Error) {
      const name: unknown = error.name; // read once: a getter could pass the test, then return more
      if (typeof name === "string" && SAFE_CODE.test(name)) return name;
    }
  }
  return "unknown_error";
}
