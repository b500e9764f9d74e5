/** One authorization check (or refusal before a check), as the authz layer reports it to its observer. */
export interface AuthzCheck {
  /** Relation checked, such as "editor". */
  relation: string;
  /** Object type checked, such as "project". */
  objectType: string;
  /** Object id checked; "" when it could not be resolved. */
  objectId: string;
  /** What the engine answered. Ignored when `error` is set: an engine error is never a decision. */
  allowed: boolean;
  /** Set when no decision could be made (engine error, timeout, unavailable): the decision is ERROR. */
  error?: unknown;
  /** True when the method has no authorization rule: the decision is NO_RULE. */
  noRule?: boolean;
  /**
   * Credential-free code for a refusal made without the engine, or for the error: "anonymous",
   * "object_id_unresolved", "object_id_invalid", "subject_id_invalid", "timeout", "unavailable". Default for errors: the error's code or name.
   */
  reason?: string;
  /** gRPC status the call was answered with, when the authz layer knows it. */
  statusCode?: number | string;
  /** True when the answer came from the decision cache. */
  cacheHit?: boolean;
  /** OpenFGA store id. */
  storeId?: string;
  /** OpenFGA authorization model id. */
  modelId?: string;
}

/** Called once per authorization check or refusal. Must not throw; the authz layer does not wait for it. */
export type AuthzObserver = (check: AuthzCheck) => void;
