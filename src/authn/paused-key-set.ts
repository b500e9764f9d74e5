import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  type ExportedJWKSCache,
  errors,
  type JWTVerifyGetKey,
  jwksCache,
  type RemoteJWKSetOptions,
} from "jose";
import { isPlainObject } from "./jwt-option-checks.js";

/** After a failed fetch of a remote key set, how long it is not fetched again (monotonic ms). */
const JWKS_RETRY_MS = 1000;

/**
 * jose's remote key set for `url`, paused after a failed fetch. jose fetches its key set again for
 * each token it needs one for (none yet, an expired one, or an unknown `kid` once its cooldown is
 * over), even right after a fetch failed: during an identity provider's outage each such call was one
 * more request to it, and with a slow one each waited out the timeout. After a failed fetch nothing is
 * fetched for `JWKS_RETRY_MS`: a token whose key the held, still fresh, set has verifies with it; any
 * other is refused (as "error"). `fetchFailed` is told each error that is a failed or skipped fetch.
 * The pause is timed on `monotonicNowMs` (performance.now unless a test drives it), never on the wall
 * clock: a clock stepped back 60 s (NTP, a VM resumed) would otherwise refuse tokens for 61 s.
 */
export function pausedAfterFailure(
  url: URL,
  options: RemoteJWKSetOptions,
  monotonicNowMs: () => number,
  fetchFailed: (error: unknown) => void,
): JWTVerifyGetKey {
  const inner = options[customFetch] ?? fetch;
  let fetches = 0;
  // jose stores each key set it fetched and accepted here: a fetch after which the set is the same
  // object failed (thrown, not 200, no JSON, no key set). A caller's own cache is kept.
  const given = options[jwksCache];
  const accepted: Partial<ExportedJWKSCache> = isPlainObject(given) ? (given as ExportedJWKSCache) : {};
  const remote = createRemoteJWKSet(url, {
    ...options,
    [jwksCache]: accepted as ExportedJWKSCache,
    [customFetch]: (input, init) => {
      fetches++;
      return inner(input, init);
    },
  });
  let retryAtMs = Number.NEGATIVE_INFINITY;
  let held: JWTVerifyGetKey | undefined;
  return async (header, token) => {
    if (monotonicNowMs() < retryAtMs) {
      if (held === undefined || !remote.fresh) throw notAskingYet(fetchFailed);
      try {
        return await held(header, token);
      } catch (error) {
        throw error instanceof errors.JWKSNoMatchingKey ? notAskingYet(fetchFailed) : error;
      }
    }
    const fetchesBefore = fetches;
    const setBefore = accepted.jwks;
    try {
      return await remote(header, token);
    } catch (error) {
      // Only a failed fetch pauses: an error of the token or of its key (an "alg" a key set cannot
      // give, a published key that cannot be imported) is no outage, and anyone can send such tokens.
      // A call that waited on another's fetch gets the same error, marked by that call.
      if (fetches !== fetchesBefore && accepted.jwks === setBefore) {
        retryAtMs = monotonicNowMs() + JWKS_RETRY_MS;
        const jwks = remote.jwks();
        held = jwks === undefined ? undefined : createLocalJWKSet(jwks);
        fetchFailed(error);
      }
      throw error;
    }
  };
}

function notAskingYet(fetchFailed: (error: unknown) => void): Error {
  const error = Object.assign(new Error("the key set could not be fetched; not asking again yet"), {
    code: "ERR_JWKS_PAUSED",
  });
  fetchFailed(error);
  return error;
}
