import type { Decision } from "../authz/authorizer.js";
import { batchItemErrorReason, openFgaErrorReason } from "./error-reason.js";
import { withoutCredentials } from "./without-credentials.js";

/**
 * The decision of an SDK call that failed or that its caller gave up (`aborted`: "timeout"). The SDK's
 * error object is kept, without the body of a failed token request (it holds the client secret).
 * @internal
 */
export function failure(outcome: { error: unknown; aborted: boolean }): Decision {
  const reason = outcome.aborted ? "timeout" : openFgaErrorReason(outcome.error);
  return { kind: "error", reason, error: withoutCredentials(outcome.error) };
}

/**
 * The decision of a check answered 200, or of one batch item. Without a boolean `allowed` (a proxy's
 * HTML page, `{}`, `"allowed": "false"`) it is no answer: an error, never a decision, so never cached.
 * @internal
 */
export function checkAnswer(value: { allowed?: unknown }): Decision {
  const { allowed } = value;
  if (typeof allowed === "boolean") return answer(allowed, false);
  return {
    kind: "error",
    reason: "malformed_answer",
    error: new Error("OpenFGA check answer has no boolean `allowed`"),
  };
}

/** An allowed or denied decision, from the cache or not. @internal */
export function answer(allowed: boolean, cacheHit: boolean): Decision {
  return allowed ? { kind: "allowed", cacheHit } : { kind: "denied", cacheHit };
}

/**
 * The decision of one batch item as OpenFGA sent it: `{ allowed }` or `{ error }`. An item with neither
 * (`{}`, `"allowed": null`, an error without a code) is no answer, and a non-boolean `allowed`
 * ("false") is none either.
 * @internal
 */
export function batchItemDecision(item: unknown): Decision {
  if (item === undefined) {
    return {
      kind: "error",
      reason: "missing_result",
      error: new Error("OpenFGA batch-check answer has no result for this check"),
    };
  }
  const { allowed, error } = typeof item === "object" && item !== null ? (item as BatchItem) : {};
  const reason = batchItemErrorReason(error);
  if (reason !== undefined) return { kind: "error", reason, error };
  return checkAnswer({ allowed });
}

/** One item of OpenFGA's batch-check answer, as read: nothing in it is trusted to be of its type. */
interface BatchItem {
  allowed?: unknown;
  error?: unknown;
}

/**
 * The decision of every check of a batch whose answer has no `result` object (a proxy's HTML page).
 * @internal
 */
export function malformedBatch(): Decision {
  return {
    kind: "error",
    reason: "malformed_answer",
    error: new Error("OpenFGA batch-check answer has no `result`"),
  };
}
