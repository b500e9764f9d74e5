import { errors } from "jose";
import type { AuthnFailureCode } from "../event/builders.js";

/**
 * Maps a jose verification error to a credential-free failure code. Only the error's class and claim
 * name are read; its message (which may quote the token's claims) is never used.
 * @internal
 */
export function joseFailureCode(error: unknown): AuthnFailureCode {
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    // A time claim of the wrong type ("nbf": "1700000000") is a malformed token, not one that is
    // not valid yet: jose marks it "invalid", a failed check "check_failed", an absent claim "missing".
    if (error.reason === "invalid") return "malformed";
    switch (error.claim) {
      case "iss":
        return "wrong_issuer";
      case "aud":
        return "wrong_audience";
      case "nbf":
      case "iat":
        return "not_yet_valid";
      default:
        return "malformed";
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "bad_signature";
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return "unknown_key";
  if (error instanceof errors.JOSEAlgNotAllowed) return "disallowed_algorithm";
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  ) {
    return "malformed";
  }
  return "error"; // key set unreachable (JWKSTimeout, fetch failure), invalid key material, bugs
}
