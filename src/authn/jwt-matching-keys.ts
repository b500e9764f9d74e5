import {
  type CryptoKey,
  errors,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type JWTVerifyResult,
  jwtVerify,
  type KeyObject,
} from "jose";

/**
 * The most keys of a key set tried for one token. A token without a `kid` matches every key of its
 * algorithm, and each try is a signature check: an attacker's token would cost as many checks as the
 * key set holds keys. Identity providers publish a few keys of one kind, even mid-rotation.
 * @internal
 */
export const MAX_MATCHING_KEYS = 10;

/**
 * `jwtVerify`, trying each key when several of a key set match the token (no `kid` in it while the set
 * holds two keys of its algorithm, as during a key rotation, or a `kid` on two keys), as jose documents.
 * A key whose signature check fails hands over to the next; any other error (an expired token whose
 * signature did verify) is thrown as is. When none of the keys verifies, the token's signature is bad
 * (`JWSSignatureVerificationFailed`); when more than `MAX_MATCHING_KEYS` match and those tried fail,
 * the key could not be picked: jose's `JWKSMultipleMatchingKeys` is thrown.
 */
export async function jwtVerifyMatchingKeys(
  token: string,
  getKey: JWTVerifyGetKey | CryptoKey | KeyObject | Uint8Array,
  options: JWTVerifyOptions,
): Promise<JWTVerifyResult> {
  try {
    return await jwtVerify(token, getKey, options);
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    let tried = 0;
    // jose imports each candidate only when the iteration reaches it: one past the limit at most.
    for await (const key of error) {
      if (++tried > MAX_MATCHING_KEYS) throw error;
      try {
        return await jwtVerify(token, key, options);
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}
