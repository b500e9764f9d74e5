import type { Authorizer, CheckOptions, CheckRequest, Decision } from "../../src/authz/authorizer.js";

/**
 * An in-process Authorizer over a set of direct tuples, for interceptor tests that are about the
 * interceptor, not OpenFGA (the OpenFGA authorizer has its own tests against the HTTP stand-in).
 * `mode` makes it fail ("error") or never answer until aborted ("hang"); `cache` makes `cached` answer
 * ("hit", as a cache hit), throw ("throw") or have nothing ("off", the default).
 */
export function createFakeAuthorizer(tuples: readonly string[]) {
  const allowed = new Set(tuples);
  const state = {
    mode: "normal" as "normal" | "error" | "hang",
    cache: "off" as "off" | "hit" | "throw",
    checks: [] as CheckRequest[],
  };
  const key = (r: CheckRequest) => `${r.user}|${r.relation}|${r.object}`;
  const authorizer: Authorizer = {
    storeId: "01JSTORE0000000000000000000",
    modelId: "01JMODEL0000000000000000000",
    cached(request: CheckRequest): Decision | undefined {
      if (state.cache === "throw") throw new Error("cache broken");
      if (state.cache === "off") return undefined;
      return { kind: allowed.has(key(request)) ? "allowed" : "denied", cacheHit: true };
    },
    async check(request: CheckRequest, options: CheckOptions = {}): Promise<Decision> {
      state.checks.push(request);
      if (state.mode === "error")
        return { kind: "error", reason: "unavailable", error: new Error("engine down") };
      if (state.mode === "hang") {
        return new Promise((resolve) =>
          options.signal?.addEventListener("abort", () =>
            resolve({ kind: "error", reason: "timeout", error: new Error("aborted") }),
          ),
        );
      }
      return { kind: allowed.has(key(request)) ? "allowed" : "denied", cacheHit: false };
    },
    async batchCheck(requests) {
      return Promise.all(requests.map((r) => authorizer.check(r)));
    },
  };
  return { authorizer, state };
}
