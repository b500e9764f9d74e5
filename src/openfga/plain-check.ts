import type { CheckRequest, Decision } from "../authz/authorizer.js";

/**
 * True for a request that is only a tuple: no own key but `user`, `relation` and `object`, unless
 * empty (undefined, null, [] or {}). Any other is not: OpenFGA's `contextualTuples` and `context`, the
 * HTTP API's `contextual_tuples`, a `consistency` or a tuple's `condition` (fields a caller written in
 * JavaScript, or passing a wider object, can set) would change the answer, and this authorizer does
 * not send them: checking the bare tuple instead could allow what they deny (a model's "but not" with
 * a contextual tuple). Such a request is answered `unsupported_request`, never checked without them,
 * never cached. Never throws.
 * @internal
 */
export function isPlainCheck(request: CheckRequest): boolean {
  try {
    for (const key of Object.keys(request)) {
      if (!TUPLE_KEYS.has(key) && !isEmpty((request as unknown as Record<string, unknown>)[key]))
        return false;
    }
    return true;
  } catch {
    return false;
  }
}

const TUPLE_KEYS: ReadonlySet<string> = new Set(["user", "relation", "object"]);

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value).length === 0;
}

/** The decision of a request that is not only a tuple (see `isPlainCheck`). @internal */
export function unsupported(): Decision {
  return {
    kind: "error",
    reason: "unsupported_request",
    error: new Error(
      "OpenFGA authorizer: only user, relation and object are checked; other fields are not supported",
    ),
  };
}

/** Only the tuple: anything else the caller's object holds is not sent. @internal */
export function tupleOf(request: CheckRequest): CheckRequest {
  return { user: request.user, relation: request.relation, object: request.object };
}
