import { createLocalJWKSet, type createRemoteJWKSet, errors, type JWTVerifyGetKey } from "jose";

/** After a failed fetch of a remote key set, how long it is not fetched again. */
const JWKS_RETRY_MS = 1000;

/**
 * jose fetches its key set again for each token it needs one for (none yet, an expired one, or an
 * unknown `kid` once its cooldown is over), even right after a fetch failed: during an identity
 * provider's outage each such call was one more request to it, and with a slow one each waited out the
 * timeout. After a failed fetch nothing is fetched for `JWKS_RETRY_MS`: a token whose key the held,
 * still fresh, set has verifies with it; any other is refused (as "error").
 */
export function pausedAfterFailure(
  remote: ReturnType<typeof createRemoteJWKSet>,
  now: () => Date,
): JWTVerifyGetKey {
  let retryAtMs = Number.NEGATIVE_INFINITY;
  let held: JWTVerifyGetKey | undefined;
  return async (header, token) => {
    if (now().getTime() < retryAtMs) {
      if (held === undefined || !remote.fresh) throw notAskingYet();
      try {
        return await held(header, token);
      } catch (error) {
        throw error instanceof errors.JWKSNoMatchingKey ? notAskingYet() : error;
      }
    }
    try {
      return await remote(header, token);
    } catch (error) {
      // A key the set lacks or holds twice is an answer; any other error is taken for a failed fetch
      // (jose's `fresh` cannot tell one: a failed fetch leaves the set's age as it was).
      if (!(error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)) {
        retryAtMs = now().getTime() + JWKS_RETRY_MS;
        const jwks = remote.jwks();
        held = jwks === undefined ? undefined : createLocalJWKSet(jwks);
      }
      throw error;
    }
  };
}

function notAskingYet(): Error {
  return Object.assign(new Error("the key set could not be fetched; not asking again yet"), {
    code: "ERR_JWKS_PAUSED",
  });
}
