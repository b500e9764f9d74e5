import type { AuthzOutcome } from "../event/builders.js";
import type { RecordContext } from "../event/record-context.js";

/**
 * One authorization check, or a refusal before a check, as the authz interceptor reports it to its
 * observer. It is the input of the Recorder's `recordAuthzDecision` as it stands: an observer passes
 * it on unchanged. The interceptor sets `result` to the status the call was answered with.
 */
export interface AuthzDecisionInput extends RecordContext {
  /** Relation checked, such as "editor"; "" for "no_rule". */
  relation: string;
  /** Object type checked, such as "project"; "" for "no_rule". */
  objectType: string;
  /** Object id checked; "" when it could not be resolved. */
  objectId: string;
  /** The outcome. An engine error, a timeout or an unreachable engine is "error", never "denied". */
  decision: AuthzOutcome;
  /** True when the answer came from the decision cache. Default: false. */
  cacheHit?: boolean;
  /**
   * Credential-free code for an error, or for a refusal made without the engine: "anonymous",
   * "object_id_unresolved", "object_id_invalid", "subject_id_invalid" (what `toUser` returned is not a
   * valid OpenFGA user), "to_user_failed" (`toUser` threw or returned no string), "cache_failed" (the
   * authorizer's `cached` threw), "timeout", "unavailable", or the engine's error code. Never an error message. Default: none.
   */
  errorReason?: string;
  /** OpenFGA store id. Default: none. */
  storeId?: string;
  /** OpenFGA authorization model id. Default: none. */
  modelId?: string;
  /**
   * The OpenFGA user checked, as `toUser` gave it, such as "user:alice": set once the user is resolved,
   * also for a cached decision and an engine error, and for "subject_id_invalid" (the refused value,
   * never sent to OpenFGA). Default: none (no rule, anonymous, an unresolved or invalid object id,
   * "to_user_failed").
   */
  user?: string;
}

/** Called once per authorization check or refusal. Must not throw; the authz layer does not wait for it. */
export type AuthzObserver = (input: AuthzDecisionInput) => void;
