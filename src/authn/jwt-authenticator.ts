import { hash } from "node:crypto";
import type { Metadata } from "@grpc/grpc-js";
import { decodeProtectedHeader, type JWTPayload } from "jose";
import { AuditError } from "../errors/index.js";
import { callHook } from "../errors/report.js";
import type { ActorInput } from "../event/builders.js";
import type { Authenticator, AuthnOutcome } from "./authenticator.js";
import { type JwtAuthenticatorOptions, resolveOptions } from "./jwt-authenticator-options.js";
import { errorLabel, joseFailureCode } from "./jwt-errors.js";
import { jwtVerifyMatchingKeys } from "./jwt-matching-keys.js";
import { normalizeTyp } from "./jwt-option-checks.js";

export type { JwtAuthenticatorOptions } from "./jwt-authenticator-options.js";

/**
 * Tokens longer than this are refused unparsed as malformed.
 * @internal
 */
export const MAX_TOKEN_LENGTH = 16_384;
const BEARER = /^Bearer +([A-Za-z0-9_.~+/=-]+)$/i;
/**
 * An HTTP auth scheme other than Bearer (RFC 9110 token), then its credentials; or a known scheme's
 * name alone (IANA's registry, and the common `NTLM`, `Token`, `ApiKey`), which claims no JWT either.
 * Any other lone word reads as a token sent without its "Bearer ": refused as malformed.
 */
const OTHER_SCHEME =
  /^\s*(?!bearer(?:\s|$))(?:[A-Za-z0-9!#$%&'*+.^_`|~-]+ +\S|(?:Basic|Digest|Negotiate|NTLM|Mutual|HOBA|DPoP|GNAP|OAuth|PrivateToken|SCRAM-SHA-1|SCRAM-SHA-256|vapid|Concealed|Token|ApiKey)\s*$)/i;

/**
 * An authenticator for `Authorization: Bearer <JWT>` verified with jose (a value of another scheme,
 * such as `Basic …` or a bare `Negotiate`, and an empty or blank value are left to the next
 * authenticator, as no credential; a bare `Bearer` is refused as malformed): signature against local keys
 * or a JWKS URL, algorithm allow-list, issuer, audience, expiry with clock tolerance, a non-empty
 * `sub` (a token without one is refused as malformed), and the `typ` header when `typ` is given
 * (such as "at+jwt": a token of another or no type is refused as wrong_type). Failure reasons
 * are codes (expired, wrong_audience, ...); the token never appears in an outcome or an error.
 *
 * ```ts
 * const jwt = createJwtAuthenticator({
 *   jwksUrl: "https://id.example.com/.well-known/jwks.json",
 *   issuer: "https://id.example.com/", audience: "projects-api", algorithms: ["RS256"],
 * });
 * ```
 */
export function createJwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  const config = resolveOptions(options);
  // `verifiedAtMs` is on the monotonic clock (the ttl is a wait, which a wall clock stepped back must
  // not stretch), `expMs` on `now` (the token's own time).
  const cache = new Map<string, { actor: ActorInput; verifiedAtMs: number; expMs: number }>();

  /** Answers from the cache synchronously; verifies (asynchronously) on a miss. */
  function verify(token: string): AuthnOutcome | Promise<AuthnOutcome> {
    const nowDate = config.now();
    if (config.cache === false) return verifyUncached(token, nowDate, "");
    const cacheKey = hash("sha256", token, "base64url");
    const hit = cache.get(cacheKey);
    if (
      hit !== undefined &&
      config.monotonicNowMs() - hit.verifiedAtMs < config.cache.ttlMs &&
      hit.expMs > nowDate.getTime()
    )
      return { kind: "authenticated", actor: hit.actor };
    if (hit !== undefined) cache.delete(cacheKey);
    return verifyUncached(token, nowDate, cacheKey);
  }

  async function verifyUncached(token: string, nowDate: Date, cacheKey: string): Promise<AuthnOutcome> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerifyMatchingKeys(token, config.getKey, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: [...config.algorithms],
        ...(config.typ === undefined ? {} : { typ: typFor(token, config.typ) }),
        clockTolerance: config.clockToleranceSec,
        currentDate: nowDate,
        requiredClaims: ["sub", "exp"],
      }));
    } catch (error) {
      const reason = joseFailureCode(error);
      if (reason === "error") reportError(config.keySet.describe(error));
      return { kind: "refused", reason };
    }
    // An empty subject names nobody: refused, never an actor with an empty id (jose only checks `sub` is present).
    if (typeof payload.sub !== "string" || payload.sub.trim() === "") {
      return { kind: "refused", reason: "malformed" };
    }
    // jose compares `iat` with the clock only when given maxTokenAge: a token issued later than now
    // (beyond the tolerance) is not valid yet, as one with such an `nbf` is.
    if (
      typeof payload.iat === "number" &&
      payload.iat > nowDate.getTime() / 1000 + config.clockToleranceSec
    ) {
      return { kind: "refused", reason: "not_yet_valid" };
    }
    let actor: ActorInput;
    try {
      actor = config.toActor(payload);
    } catch (error) {
      // Its class only: the message of a throw in a claims mapping may quote the claims.
      reportError(`toActor threw ${errorLabel(error, false)}`);
      return { kind: "refused", reason: "error" };
    }
    if (cacheKey !== "") remember(cacheKey, actor, payload, nowDate.getTime());
    return { kind: "authenticated", actor };
  }

  /**
   * The accepted type jose checks this token against: jose takes one `typ`, so of several the one
   * the token's (not yet verified) header names, else the first, which jose refuses as it would any
   * other after the signature check. jose alone compares the signed header with it.
   */
  function typFor(token: string, accepted: readonly string[]): string {
    const [first = ""] = accepted;
    if (accepted.length === 1) return first;
    let typ: unknown;
    try {
      ({ typ } = decodeProtectedHeader(token));
    } catch {
      return first; // not a JWT: jose refuses it as malformed
    }
    return typeof typ === "string" && accepted.includes(normalizeTyp(typ)) ? normalizeTyp(typ) : first;
  }

  function reportError(cause: string): void {
    // A reporting callback must not decide the call.
    callHook(config.onError, new AuditError(`jwt authenticator: token refused as "error": ${cause}`));
  }

  function remember(key: string, actor: ActorInput, payload: JWTPayload, nowMs: number): void {
    if (config.cache === false) return;
    const expMs = typeof payload.exp === "number" ? payload.exp * 1000 : nowMs;
    cache.set(key, { actor, verifiedAtMs: config.monotonicNowMs(), expMs });
    if (cache.size > config.cache.maxEntries) {
      const oldest = cache.keys().next().value; // Map keeps insertion order
      if (oldest !== undefined) cache.delete(oldest);
    }
  }

  return {
    method: "jwt",
    credentialMetadataKeys: Object.freeze([config.metadataKey]),
    authenticate(metadata: Metadata): AuthnOutcome | Promise<AuthnOutcome> {
      const values = metadata.get(config.metadataKey);
      if (values.length === 0) return { kind: "absent" };
      const [value] = values;
      // Another scheme's credential (Basic, ApiKey), or none at all (an empty value, which client
      // wrappers send when they hold no token), is not this authenticator's: the next one may take it.
      // A bare "Bearer" claims to be a JWT: refused as malformed below.
      if (
        values.length === 1 &&
        typeof value === "string" &&
        (value.trim() === "" || OTHER_SCHEME.test(value))
      )
        return { kind: "absent" };
      if (values.length > 1 || typeof value !== "string") return { kind: "refused", reason: "malformed" };
      // The token's own length is limited, not the value's: "Bearer" may be followed by any number of
      // spaces. The pattern has no backtracking, so reading a long value costs only its length.
      const token = BEARER.exec(value.trim())?.[1];
      if (token === undefined || token.length > MAX_TOKEN_LENGTH)
        return { kind: "refused", reason: "malformed" };
      return verify(token);
    },
  };
}
