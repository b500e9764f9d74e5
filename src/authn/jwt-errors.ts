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
      // jose checks the `typ` header (when given a `typ` option) as a claim: missing or another type.
      case "typ":
        return "wrong_type";
      case "nbf":
      case "iat":
        return "not_yet_valid";
      default:
        return "malformed";
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "bad_signature";
  // Several matching keys reach here only when more match than are tried (jwt-matching-keys.ts).
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

const SAFE_LABEL = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A credential-free label of an error: its class name and, when `withCode`, its `code` and its cause's
 * (such as "TypeError (ECONNREFUSED)" for a refused connection, "JWKSTimeout (ERR_JWKS_TIMEOUT)"), or
 * when neither has a code, its cause's class name ("TypeError (HTTPParserError)").
 * Messages are never read: they may quote a token's claims.
 * @internal
 */
export function errorLabel(error: unknown, withCode: boolean): string {
  try {
    if (typeof error !== "object" || error === null) return typeof error;
    const name = safe((error as { name?: unknown }).name) ?? "Error";
    if (!withCode) return name;
    const codes = [(error as { code?: unknown }).code];
    const { cause } = error as { cause?: unknown };
    const hasCause = typeof cause === "object" && cause !== null;
    if (hasCause) codes.push((cause as { code?: unknown }).code);
    const known = codes.map(safe).filter((code) => code !== undefined);
    // undici 7 (Node 24) sets no `code` on an HTTPParserError (Node 20's undici did: HPE_INVALID_HEADER_TOKEN),
    // so a malformed answer would be a bare "TypeError"; the cause's class still says what failed.
    if (known.length === 0 && hasCause) {
      const causeName = safe((cause as { name?: unknown }).name);
      if (causeName !== undefined) known.push(causeName);
    }
    return known.length === 0 ? name : `${name} (${known.join(", ")})`;
  } catch {
    return "unknown error"; // a getter that throws
  }
}

/** A string code only: a DOMException's `code` is a legacy number (23 for a timeout) that names nothing. */
function safe(value: unknown): string | undefined {
  return typeof value === "string" && SAFE_LABEL.test(value) ? value : undefined;
}
