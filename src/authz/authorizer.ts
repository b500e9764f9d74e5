/**
 * One authorization question: may `user` have `relation` on `object`? (OpenFGA tuple shapes) Only the
 * tuple: the OpenFGA authorizer answers a request that also carries any other field that is not empty
 * (OpenFGA's `contextualTuples` or `context`, `contextual_tuples`, a `consistency`) with an
 * "unsupported_request" error rather than check the tuple without it.
 */
export interface CheckRequest {
  /** Such as "user:alice". */
  user: string;
  /** Such as "editor". */
  relation: string;
  /** Such as "project:p-1". */
  object: string;
}

/**
 * An authorizer's answer. Expected outcomes are data, not exceptions: an engine error, a timeout or an
 * unreachable engine is `error`, never `denied`.
 */
export type Decision =
  | { kind: "allowed"; cacheHit: boolean }
  | { kind: "denied"; cacheHit: boolean }
  /** `reason` is a credential-free code: "timeout", "unavailable", "rate_limited" or the engine's error code. */
  | { kind: "error"; reason: string; error: unknown };

/** Options of one check. */
export interface CheckOptions {
  /**
   * Aborted when the caller stops waiting: the authz interceptor's timeout, or the call ending first (a
   * client cancel, its deadline). Default: none (never aborted).
   */
  signal?: AbortSignal;
}

/**
 * Answers authorization questions (the OpenFGA authorizer in `grpc-audit/openfga` is one). Methods
 * resolve to decisions, and reject only a malformed call (options that are not an object, `requests`
 * that is not an array: a caller's bug, as the types prevent); a malformed request is a decision.
 */
export interface Authorizer {
  /** Store id put on authz events, when the engine has one. */
  readonly storeId?: string;
  /** Authorization model id put on authz events, when known. */
  readonly modelId?: string;
  /**
   * Asks whether `request.user` has `request.relation` on `request.object`. Resolves to "allowed",
   * "denied", or "error" (an engine error, a timeout, an unreachable engine); rejects only a
   * malformed call (see above).
   */
  check(request: CheckRequest, options?: CheckOptions): Promise<Decision>;
  /**
   * The decision when it is at hand without asking the engine (a cache hit), else undefined. The authz
   * interceptor asks this first and, on a hit, lets the call go on at once, without the timer and the
   * promises of `check`. Must not throw. Authorizers without a cache need not implement it.
   */
  cached?(request: CheckRequest): Decision | undefined;
  /** One decision per request, in order. */
  batchCheck(requests: readonly CheckRequest[], options?: CheckOptions): Promise<Decision[]>;
  /**
   * Forgets cached decisions the given tuple changes may affect. Called by the audited tuple writer
   * after every write; authorizers without a cache need not implement it.
   */
  invalidate?(tuples: readonly CheckRequest[]): void;
}
