import {
  type CryptoKey,
  createLocalJWKSet,
  customFetch,
  type JSONWebKeySet,
  type JWSAlgorithm,
  type JWTPayload,
  type JWTVerifyGetKey,
  type KeyObject,
  type RemoteJWKSetOptions,
} from "jose";
import { AuditConfigError, type AuditError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { ActorInput } from "../event/builders.js";
import { boundedJwksFetch } from "./bounded-jwks-fetch.js";
import { defaultActor, PERSONAL_CLAIMS } from "./jwt-default-actor.js";
import { checkKeyFitsAlgorithms, checkLocalKeySet } from "./jwt-key-fit.js";
import {
  checkJwksHeaders,
  checkJwksUrl,
  checkKeySetAlgorithms,
  checkTyp,
  isKey,
  isPlainObject,
  JWS_ALGORITHM,
  keySetProblem,
  TEXT_METADATA_KEY,
} from "./jwt-option-checks.js";
import { KeySetDiagnosis } from "./key-set-diagnosis.js";
import { pausedAfterFailure } from "./paused-key-set.js";

// The options of createJwtAuthenticator: their type, their checks and their defaults.

/** Options of `createJwtAuthenticator`. Give exactly one of `jwks`, `jwksUrl` or `key`. */
export interface JwtAuthenticatorOptions {
  /**
   * A local JSON Web Key Set ({ keys: [...] }); the token's `kid` picks the key. Several keys matching
   * a token (it has no `kid`, or one on two keys) are each tried, 10 at most (also for `jwksUrl`).
   * Default: none.
   */
  jwks?: JSONWebKeySet;
  /**
   * URL of a remote JWKS (fetched and cached by jose; unknown `kid`s trigger a refetch), without a user
   * name or password (send credentials with `remoteJwksOptions.headers`). Default: none.
   */
  jwksUrl?: string | URL;
  /**
   * For `jwksUrl`: passed to jose's createRemoteJWKSet, e.g. `timeoutDuration` (default 5000 ms),
   * `cooldownDuration` (default 30000 ms between refetches for unknown key ids), `cacheMaxAge`.
   * Default: jose's defaults. A key set body larger than 1 MiB is refused (tokens fail as "error").
   */
  remoteJwksOptions?: RemoteJWKSetOptions;
  /** One verification key: a CryptoKey, a KeyObject or an HMAC secret. Default: none. */
  key?: CryptoKey | KeyObject | Uint8Array;
  /**
   * Accepted `iss`. Required. A list of several issuers needs a `toActor` that keeps their users apart:
   * two issuers can give the same `sub` to different people.
   */
  issuer: string | string[];
  /** Accepted `aud`. Required. */
  audience: string | string[];
  /** Accepted signing algorithms, such as ["RS256", "ES256"]. Required: there is no "any". */
  algorithms: readonly JWSAlgorithm[];
  /**
   * Accepted `typ` header values (explicit typing, RFC 8725 §3.11), such as "at+jwt" for OAuth access
   * tokens (RFC 9068): a token whose `typ` is missing or another is refused as `wrong_type`. Compared as
   * jose does: case-insensitively, with the `application/` prefix optional ("at+jwt" and
   * "application/at+jwt" are one type). Default: not checked (any `typ`, or none, is taken).
   */
  typ?: string | readonly string[];
  /**
   * Allowed clock skew for `exp`, `nbf` and `iat`, in seconds, at most 300 (a larger skew would keep
   * expired tokens valid for long). Default: 30.
   */
  clockToleranceSec?: number;
  /**
   * Maps verified claims to the actor. Default: an allow-list, never the whole claim set: id and
   * subject from `sub`, client id from `azp` or `client_id`, realm from `iss`, type "user", plus the
   * personal claims opted in with `claims`.
   */
  toActor?: (claims: JWTPayload) => ActorInput;
  /**
   * Personal claims the default actor also copies: "name" (display name), "email". Default: [] (no
   * personal data in the trail). Ignored when `toActor` is given: that one decides what is copied.
   */
  claims?: readonly ("name" | "email")[];
  /**
   * Caches successful verifications, keyed by a SHA-256 hash of the token (never the token itself),
   * until `ttlMs` passes (on the monotonic clock: a wall clock stepped back does not lengthen it) or
   * the token expires (on `now`). Default: { maxEntries: 1000, ttlMs: 60000 }; false: off.
   */
  cache?: { maxEntries?: number; ttlMs?: number } | false;
  /** Metadata key holding "Bearer <token>". Default: "authorization". */
  metadataKey?: string;
  /**
   * Clock for the token's times: `exp`, `nbf` and `iat` (also when a cached verification is served).
   * Waits are not timed on it: the cache's `ttlMs` and the pause after a failed JWKS fetch run on the
   * monotonic clock (`performance.now()`), so a wall clock stepped back neither stretches nor cuts
   * them. Default: () => new Date().
   */
  now?: () => Date;
  /**
   * Told why a token was refused as "error", which the event's reason alone does not tell: the key
   * set could not be fetched (with its HTTP status when it answered, or the error's class and code:
   * a timeout, a refused connection, a body that is not a key set or is larger than 1 MiB), the key
   * could not verify the token (bad key material), or `toActor` threw (its class name only). The
   * error's message is credential-free: never a token, a claim or key material. Pass
   * `(error) => recorder.reportError(error)` to count it in `stats().errors` and reach the Recorder's
   * `onError`. A throw, or the rejection of an async one, is ignored. Default: none.
   */
  onError?: (error: AuditError) => void;
}

/**
 * The option names of `JwtAuthenticatorOptions` (the record type makes a missing or extra name a
 * compile error); `remoteJwksOptions` and `cache` are checked apart.
 * @internal
 */
export const JWT_OPTION_NAMES = Object.keys({
  jwks: 1,
  jwksUrl: 1,
  remoteJwksOptions: 1,
  key: 1,
  issuer: 1,
  audience: 1,
  algorithms: 1,
  typ: 1,
  clockToleranceSec: 1,
  toActor: 1,
  claims: 1,
  cache: 1,
  metadataKey: 1,
  now: 1,
  onError: 1,
} satisfies Record<keyof JwtAuthenticatorOptions, 1>);

/**
 * The key of an option for tests, beside the public ones: the monotonic clock in milliseconds
 * (`() => number`) that times the cache's `ttlMs` and the pause after a failed JWKS fetch. Default:
 * `performance.now()`. A symbol, so it is neither in `JwtAuthenticatorOptions` nor an unknown option.
 * @internal
 */
export const MONOTONIC_NOW_MS: unique symbol = Symbol("grpc-audit.jwt.monotonicNowMs");

/**
 * A copy of `options` whose cache `ttlMs` and JWKS pause run on `monotonicNowMs`, for tests that step
 * the monotonic clock instead of waiting.
 * @internal
 */
export function withMonotonicClock(
  options: JwtAuthenticatorOptions,
  monotonicNowMs: () => number,
): JwtAuthenticatorOptions {
  return { ...options, [MONOTONIC_NOW_MS]: monotonicNowMs } as JwtAuthenticatorOptions;
}

/** The largest `clockToleranceSec`: five minutes, the skew Kerberos allows. */
const MAX_CLOCK_TOLERANCE_SEC = 300;

interface ResolvedOptions {
  /** What jwtVerify checks the signature with: a key, or a key set function. */
  getKey: JWTVerifyGetKey | CryptoKey | KeyObject | Uint8Array;
  issuer: string | string[];
  audience: string | string[];
  algorithms: readonly JWSAlgorithm[];
  /** The accepted `typ` values, normalized as jose compares them; undefined: not checked. */
  typ: readonly string[] | undefined;
  clockToleranceSec: number;
  toActor: (claims: JWTPayload) => ActorInput;
  cache: false | { maxEntries: number; ttlMs: number };
  metadataKey: string;
  /** For the token's times (exp, nbf, iat). */
  now: () => Date;
  /** For waits: the cache's ttlMs, the pause after a failed JWKS fetch. */
  monotonicNowMs: () => number;
  onError: ((error: AuditError) => void) | undefined;
  /** Tells what went wrong when a token was refused as "error". */
  keySet: KeySetDiagnosis;
}

/**
 * Checks the options, throwing an AuditConfigError that names the first bad one, and resolves them
 * with their defaults into what the authenticator runs on.
 * @internal
 */
export function resolveOptions(options: JwtAuthenticatorOptions): ResolvedOptions {
  const fail = (problem: string): never => {
    throw new AuditConfigError(`jwt authenticator: ${problem}`);
  };
  if (typeof options !== "object" || options === null) fail("options must be an object");
  rejectUnknownOptions("jwt authenticator", options, JWT_OPTION_NAMES);
  const sources = [options.jwks, options.jwksUrl, options.key].filter((s) => s !== undefined);
  if (sources.length !== 1) fail("give exactly one of `jwks`, `jwksUrl` or `key`");
  const nonEmpty = (value: unknown) =>
    typeof value === "string"
      ? value !== ""
      : Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string" && v !== "");
  if (!nonEmpty(options.issuer)) fail("`issuer` must be a non-empty string or list of strings");
  if (!nonEmpty(options.audience)) fail("`audience` must be a non-empty string or list of strings");
  if (!Array.isArray(options.algorithms) || options.algorithms.length === 0) {
    fail('`algorithms` must list the accepted signing algorithms, such as ["RS256"]');
  }
  if (options.algorithms.some((alg) => typeof alg !== "string" || alg.toLowerCase() === "none")) {
    fail('`algorithms` must be algorithm names, and never "none"');
  }
  // A misspelt name ("rs256") would refuse every token as disallowed_algorithm. The index, not the
  // value, is named: the option is read from configuration, where a secret may have slipped in.
  const unknown = options.algorithms.findIndex((alg) => !JWS_ALGORITHM.test(alg));
  if (unknown !== -1) {
    fail(`\`algorithms[${unknown}]\` is not a JWS algorithm name, such as "RS256", "ES256" or "EdDSA"`);
  }
  const typ = checkTyp(options.typ, fail);
  if (options.key !== undefined) {
    if (!isKey(options.key)) fail("`key` must be a CryptoKey, a KeyObject or a Uint8Array secret");
    checkKeyFitsAlgorithms(options.key, options.algorithms);
  }
  if (options.jwksUrl !== undefined) checkJwksUrl(options.jwksUrl, fail);
  const { remoteJwksOptions } = options;
  if (
    remoteJwksOptions !== undefined &&
    (typeof remoteJwksOptions !== "object" || remoteJwksOptions === null)
  ) {
    fail("`remoteJwksOptions` must be an object");
  }
  checkJwksHeaders(remoteJwksOptions?.headers, fail);
  const clockToleranceSec = options.clockToleranceSec ?? 30;
  if (
    typeof clockToleranceSec !== "number" ||
    !(clockToleranceSec >= 0 && clockToleranceSec <= MAX_CLOCK_TOLERANCE_SEC)
  )
    fail(`\`clockToleranceSec\` must be a number of seconds from 0 to ${MAX_CLOCK_TOLERANCE_SEC}`);
  const personal = options.claims ?? [];
  if (!Array.isArray(personal) || personal.some((claim) => !PERSONAL_CLAIMS.includes(claim))) {
    fail('`claims` must list personal claims to copy, from "name" and "email"');
  }
  for (const name of ["toActor", "now", "onError"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "function")
      fail(`\`${name}\` must be a function`);
  }
  const givenMonotonic = (options as { [MONOTONIC_NOW_MS]?: unknown })[MONOTONIC_NOW_MS];
  if (givenMonotonic !== undefined && typeof givenMonotonic !== "function")
    fail("the monotonic clock must be a function");
  const monotonicNowMs =
    typeof givenMonotonic === "function" ? (givenMonotonic as () => number) : () => performance.now();
  // Two identity providers can give the same `sub` to different people: with the default actor id
  // (and authz's default `user:<id>`), one would act with the other's permissions.
  if (Array.isArray(options.issuer) && new Set(options.issuer).size > 1 && options.toActor === undefined) {
    fail(
      "several issuers need a `toActor`: the default actor id is the token's `sub`, which two issuers can give to different people; make ids unique per issuer (such as iss and sub joined), or return `sub` alone when the issuers share one user base",
    );
  }
  const metadataKey = options.metadataKey ?? "authorization";
  // grpc-js gives "-bin" values as bytes, never a Bearer header: every token would be refused.
  if (typeof metadataKey !== "string" || !TEXT_METADATA_KEY.test(metadataKey)) {
    fail('`metadataKey` must be a gRPC metadata key for text, such as "authorization" (not "…-bin")');
  }
  if (options.cache !== undefined && options.cache !== false && !isPlainObject(options.cache)) {
    fail("`cache` must be an object or false");
  }
  if (isPlainObject(options.cache))
    rejectUnknownOptions("jwt authenticator: cache", options.cache as object, ["maxEntries", "ttlMs"]);
  const cache: ResolvedOptions["cache"] =
    options.cache === false
      ? false
      : { maxEntries: options.cache?.maxEntries ?? 1000, ttlMs: options.cache?.ttlMs ?? 60_000 };
  if (
    cache !== false &&
    (!Number.isInteger(cache.maxEntries) || cache.maxEntries <= 0 || !(cache.ttlMs > 0))
  ) {
    fail("`cache` needs a positive integer maxEntries and a positive ttlMs");
  }
  if (options.jwks !== undefined) checkLocalKeySet(options.jwks);
  if (options.jwks !== undefined || options.jwksUrl !== undefined)
    checkKeySetAlgorithms(options.algorithms, fail);
  const keySet = new KeySetDiagnosis();
  let getKey: ResolvedOptions["getKey"];
  try {
    if (options.jwks !== undefined) getKey = keySet.watch(createLocalJWKSet(options.jwks));
    else if (options.jwksUrl !== undefined)
      getKey = keySet.watch(
        pausedAfterFailure(
          new URL(options.jwksUrl),
          {
            ...remoteJwksOptions,
            // The status is noted as the answer arrives, before its body is read: a body over the
            // size bound is a failed fetch whose cause still names the status it came with.
            [customFetch]: boundedJwksFetch(keySet.watchFetch(remoteJwksOptions?.[customFetch] ?? fetch)),
          },
          monotonicNowMs,
          (error) => keySet.fetchFailed(error),
        ),
      );
    else getKey = options.key as CryptoKey | KeyObject | Uint8Array;
  } catch (error) {
    throw new AuditConfigError(`jwt authenticator: ${keySetProblem(error)}`, { cause: error });
  }
  return {
    getKey,
    issuer: options.issuer,
    audience: options.audience,
    algorithms: options.algorithms,
    typ,
    clockToleranceSec,
    toActor: options.toActor ?? defaultActor(personal),
    cache,
    metadataKey,
    now: options.now ?? (() => new Date()),
    monotonicNowMs,
    onError: options.onError,
    keySet,
  };
}
