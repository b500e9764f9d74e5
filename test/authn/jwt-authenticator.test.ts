import { generateKeyPairSync } from "node:crypto";
import { Metadata } from "@grpc/grpc-js";
import { CompactSign } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import {
  createJwtAuthenticator,
  type JwtAuthenticatorOptions,
  MAX_TOKEN_LENGTH,
} from "../../src/authn/jwt-authenticator.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, serveJwks, signToken } from "../helpers/jwt.js";

const { publicKey: PUBLIC_KEY } = generateKeyPairSync("rsa", { modulusLength: 2048 });

const CALL = { method: "/example.v1.ProjectService/CreateProject", peer: "127.0.0.1:1" };

function bearer(value: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", value);
  return metadata;
}

describe("JWT authenticator", () => {
  let key: SigningKey;
  let otherKey: SigningKey;
  let jwt: Authenticator;
  const base = (): JwtAuthenticatorOptions => ({
    jwks: key.jwks,
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ["RS256"],
  });

  beforeAll(async () => {
    key = await newSigningKey("k1");
    otherKey = await newSigningKey("k1"); // same kid, different key: a forged signature
    jwt = createJwtAuthenticator(base());
  });

  it("accepts a valid token and copies only sub, iss and the client id to the actor", async () => {
    // The token also carries name and email (personal data) and a custom claim: none is copied.
    const token = await signToken(key, { department: "finance" });
    const outcome = await jwt.authenticate(bearer(`Bearer ${token}`), CALL);
    expect(outcome).toStrictEqual({
      kind: "authenticated",
      actor: { id: "alice", type: "user", subject: "alice", clientId: "web", realm: ISSUER },
    });
  });

  it("takes the client id from client_id when there is no azp", async () => {
    const token = await signToken(key, { azp: undefined, client_id: "cli" });
    const outcome = await jwt.authenticate(bearer(`Bearer ${token}`), CALL);
    expect(outcome.kind === "authenticated" && outcome.actor.clientId).toBe("cli");
  });

  it.each([
    [["name"], { displayName: "Alice" }],
    [["email"], { email: "alice@example.com" }],
    [["name", "email"], { displayName: "Alice", email: "alice@example.com" }],
  ] as const)("copies the personal claims opted in with claims: %j", async (claims, copied) => {
    const optedIn = createJwtAuthenticator({ ...base(), claims });
    const outcome = await optedIn.authenticate(bearer(`Bearer ${await signToken(key)}`), CALL);
    expect(outcome).toStrictEqual({
      kind: "authenticated",
      actor: { id: "alice", type: "user", subject: "alice", clientId: "web", realm: ISSUER, ...copied },
    });
  });

  it("lets a custom toActor decide what is copied, whatever claims says", async () => {
    const custom = createJwtAuthenticator({
      ...base(),
      claims: ["email"],
      toActor: (claims) => ({ id: `u-${String(claims.sub)}`, type: "service" }),
    });
    const outcome = await custom.authenticate(bearer(`Bearer ${await signToken(key)}`), CALL);
    expect(outcome).toStrictEqual({ kind: "authenticated", actor: { id: "u-alice", type: "service" } });
  });

  it("takes several issuers with a toActor that keeps their users apart, or the same issuer listed twice", async () => {
    const partner = "https://partner.example.test/";
    const both = createJwtAuthenticator({
      ...base(),
      issuer: [ISSUER, partner],
      toActor: (claims) => ({ id: `${String(claims.iss)}|${String(claims.sub)}`, realm: String(claims.iss) }),
    });
    const ids = [];
    for (const iss of [ISSUER, partner]) {
      const outcome = await both.authenticate(bearer(`Bearer ${await signToken(key, { iss })}`), CALL);
      ids.push(outcome.kind === "authenticated" ? outcome.actor.id : outcome.kind);
    }
    expect(ids).toStrictEqual([`${ISSUER}|alice`, `${partner}|alice`]);
    // One issuer written twice is one user base: the default actor stays allowed.
    expect(() => createJwtAuthenticator({ ...base(), issuer: [ISSUER, ISSUER] })).not.toThrow();
  });

  it("reports no credential as absent", async () => {
    expect(await jwt.authenticate(new Metadata(), CALL)).toStrictEqual({ kind: "absent" });
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ["expired", () => signToken(key, { exp: now() - 3600, iat: now() - 7200 })],
    ["not_yet_valid", () => signToken(key, { nbf: now() + 3600 })],
    ["wrong_issuer", () => signToken(key, { iss: "https://evil.example/" })],
    ["wrong_audience", () => signToken(key, { aud: "other-api" })],
    ["bad_signature", () => signToken(otherKey)],
    ["unknown_key", () => signToken(key, {}, { kid: "k2" })],
  ])("refuses a token with reason %s", async (reason, token) => {
    expect(await jwt.authenticate(bearer(`Bearer ${await token()}`), CALL)).toStrictEqual({
      kind: "refused",
      reason,
    });
  });

  it("refuses an algorithm outside the allow-list", async () => {
    const es = await newSigningKey("e1", "ES256");
    const only = createJwtAuthenticator({ ...base(), jwks: { keys: [...key.jwks.keys, ...es.jwks.keys] } });
    expect(await only.authenticate(bearer(`Bearer ${await signToken(es)}`), CALL)).toStrictEqual({
      kind: "refused",
      reason: "disallowed_algorithm",
    });
  });

  it.each([
    ["Basic", "Basic YWxpY2U6cHc="],
    ["ApiKey", "ApiKey good-key"],
    ["ApiKey, oversized", `ApiKey ${"a".repeat(20_000)}`],
  ])("leaves a value of the %s scheme to the next authenticator, as absent", async (_name, value) => {
    expect(await jwt.authenticate(bearer(value), CALL)).toStrictEqual({ kind: "absent" });
  });

  it.each([
    ["a raw token without a scheme", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"],
    ["Bearer without a token", "Bearer"],
    ["a token that is not a JWT", "Bearer not-a-jwt"],
    ["a token with bad JSON", `Bearer ${Buffer.from("{").toString("base64url")}.e30.c2ln`],
    ["an oversized token", `Bearer ${"a".repeat(20_000)}`],
    ["a token with spaces inside", "Bearer abc def"],
  ])("refuses %s as malformed", async (_name, value) => {
    expect(await jwt.authenticate(bearer(value), CALL)).toStrictEqual({
      kind: "refused",
      reason: "malformed",
    });
  });

  it.each([
    ["no sub claim", () => signToken(key, {}, { withoutSubject: true })],
    ["an empty sub", () => signToken(key, { sub: "" })],
    ["a blank sub", () => signToken(key, { sub: "  " })],
    ["a numeric sub", () => signToken(key, { sub: 42 as unknown as string }, { withoutSubject: true })],
  ])("refuses a validly signed token with %s as malformed", async (_name, token) => {
    expect(await jwt.authenticate(bearer(`Bearer ${await token()}`), CALL)).toStrictEqual({
      kind: "refused",
      reason: "malformed",
    });
  });

  it.each(["nbf", "iat", "exp"])(
    "refuses a validly signed token whose %s is a string, not a number, as malformed",
    async (claim) => {
      const claims = { iss: ISSUER, aud: AUDIENCE, sub: "alice", iat: now(), exp: now() + 3600 };
      // SignJWT only writes numeric dates: the claims are signed as raw JSON, as a faulty issuer might.
      const token = await new CompactSign(
        new TextEncoder().encode(JSON.stringify({ ...claims, [claim]: String(now() - 60) })),
      )
        .setProtectedHeader({ alg: "RS256", kid: key.kid })
        .sign(key.privateKey);
      expect(await jwt.authenticate(bearer(`Bearer ${token}`), CALL)).toStrictEqual({
        kind: "refused",
        reason: "malformed",
      });
    },
  );

  it("limits the token's length, not the value's: spaces after Bearer do not count", async () => {
    /** A validly signed token of `length` or `length + 1` characters (base64url grows by 1 or 2 a byte). */
    async function tokenOfLength(length: number): Promise<string> {
      let [low, high] = [0, length];
      for (;;) {
        if (low > high) throw new Error(`no token of ${length} characters`);
        const pad = Math.floor((low + high) / 2);
        const token = await signToken(key, { pad: "x".repeat(pad) });
        if (token.length === length || token.length === length + 1) return token;
        if (token.length < length) low = pad + 1;
        else high = pad - 1;
      }
    }
    const longest = await tokenOfLength(MAX_TOKEN_LENGTH - 1);
    expect(longest.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(await jwt.authenticate(bearer(`bearer    ${longest}`), CALL)).toMatchObject({
      kind: "authenticated",
    });
    const over = await tokenOfLength(MAX_TOKEN_LENGTH + 1);
    expect(await jwt.authenticate(bearer(`Bearer ${over}`), CALL)).toStrictEqual({
      kind: "refused",
      reason: "malformed",
    });
  });

  it("refuses two authorization values as malformed", async () => {
    const metadata = bearer(`Bearer ${await signToken(key)}`);
    metadata.add("authorization", `Bearer ${await signToken(key)}`);
    expect(await jwt.authenticate(metadata, CALL)).toStrictEqual({ kind: "refused", reason: "malformed" });
  });

  it("caches a verification by token hash until the token expires", async () => {
    let nowMs = Date.now();
    const cached = createJwtAuthenticator({
      ...base(),
      now: () => new Date(nowMs),
      cache: { ttlMs: 600_000 },
    });
    const token = await signToken(key, { exp: Math.floor(nowMs / 1000) + 120 });
    const first = cached.authenticate(bearer(`Bearer ${token}`), CALL);
    expect(first).toBeInstanceOf(Promise); // verified
    expect((await first).kind).toBe("authenticated");
    nowMs += 60_000; // within exp: served from the cache, synchronously
    const second = cached.authenticate(bearer(`Bearer ${token}`), CALL);
    expect(second).not.toBeInstanceOf(Promise);
    expect((await second).kind).toBe("authenticated");
    nowMs += 120_000; // past exp (and the 30 s tolerance): the cache entry is gone, verification refuses
    expect(await cached.authenticate(bearer(`Bearer ${token}`), CALL)).toStrictEqual({
      kind: "refused",
      reason: "expired",
    });
  });

  it("verifies against a remote JWKS over HTTP, refetching for a new key id", async () => {
    const rotated = await newSigningKey("k2");
    let published = key.jwks;
    const jwks = await serveJwks(() => published);
    try {
      const remote = createJwtAuthenticator({
        jwksUrl: jwks.url,
        remoteJwksOptions: { cooldownDuration: 0 },
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["RS256"],
        cache: false,
      });
      expect((await remote.authenticate(bearer(`Bearer ${await signToken(key)}`), CALL)).kind).toBe(
        "authenticated",
      );
      published = { keys: [...key.jwks.keys, ...rotated.jwks.keys] };
      expect((await remote.authenticate(bearer(`Bearer ${await signToken(rotated)}`), CALL)).kind).toBe(
        "authenticated",
      );
      expect(jwks.fetches()).toBe(2);
    } finally {
      await jwks.close();
    }
  });

  it("reports an unreachable JWKS as error, not as a bad credential", async () => {
    const jwks = await serveJwks(() => key.jwks);
    await jwks.close(); // nothing listens there any more
    const remote = createJwtAuthenticator({
      jwksUrl: jwks.url,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
    });
    expect(await remote.authenticate(bearer(`Bearer ${await signToken(key)}`), CALL)).toStrictEqual({
      kind: "refused",
      reason: "error",
    });
  });

  it.each([
    [
      "no key source",
      { issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"] },
      "give exactly one of `jwks`, `jwksUrl` or `key`",
    ],
    [
      "two key sources",
      { jwks: { keys: [] }, jwksUrl: "http://x", issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"] },
      "give exactly one",
    ],
    [
      "no issuer",
      { jwks: { keys: [] }, audience: AUDIENCE, algorithms: ["RS256"] },
      "`issuer` must be a non-empty string",
    ],
    [
      "no audience",
      { jwks: { keys: [] }, issuer: ISSUER, audience: [], algorithms: ["RS256"] },
      "`audience` must be a non-empty string",
    ],
    [
      "no algorithms",
      { jwks: { keys: [] }, issuer: ISSUER, audience: AUDIENCE, algorithms: [] },
      "`algorithms` must list",
    ],
    [
      "alg none",
      { jwks: { keys: [] }, issuer: ISSUER, audience: AUDIENCE, algorithms: ["none"] },
      'never "none"',
    ],
    [
      "a bad cache",
      {
        jwks: { keys: [] },
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["RS256"],
        cache: { maxEntries: 0 },
      },
      "`cache` needs",
    ],
    [
      "a claim that is not a personal claim",
      { jwks: { keys: [] }, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"], claims: ["phone"] },
      '`claims` must list personal claims to copy, from "name" and "email"',
    ],
    [
      "claims that are not a list",
      { jwks: { keys: [] }, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"], claims: "email" },
      "`claims` must list",
    ],
    [
      "an HMAC algorithm beside a public key (a token could choose HS256 with the public key as secret)",
      { key: PUBLIC_KEY, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256", "HS256"] },
      "`algorithms` HS256 cannot verify with `key` (a public rsa key)",
    ],
    [
      "a public-key algorithm beside an HMAC secret",
      { key: new Uint8Array(32), issuer: ISSUER, audience: AUDIENCE, algorithms: ["HS256", "ES256"] },
      "`algorithms` ES256 cannot verify with `key` (an HMAC secret)",
    ],
    [
      "a bad JWKS URL",
      { jwksUrl: "not a url", issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"] },
      "`jwksUrl` is not a valid URL",
    ],
    [
      "a null key",
      { key: null, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"] },
      "`key` must be a CryptoKey, a KeyObject or a Uint8Array secret",
    ],
    [
      "a string as key (an HMAC secret must be bytes)",
      { key: "0123456789abcdef0123456789abcdef", issuer: ISSUER, audience: AUDIENCE, algorithms: ["HS256"] },
      "`key` must be a CryptoKey, a KeyObject or a Uint8Array secret",
    ],
    [
      "a JWKS URL that is not http or https",
      { jwksUrl: "file:///etc/jwks.json", issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"] },
      "`jwksUrl` must be an http: or https: URL",
    ],
    [
      "remoteJwksOptions that are not an object",
      {
        jwksUrl: "https://id.example.test/jwks",
        remoteJwksOptions: "fast",
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["RS256"],
      },
      "`remoteJwksOptions` must be an object",
    ],
    [
      "an algorithm name jose does not know (names are case-sensitive)",
      { jwks: { keys: [] }, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256", "rs256"] },
      "`algorithms[1]` is not a JWS algorithm name",
    ],
    [
      "an empty metadataKey",
      { jwks: { keys: [] }, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"], metadataKey: "" },
      "`metadataKey` must be a gRPC metadata key for text",
    ],
    [
      "a binary metadataKey (its values are bytes, never a Bearer header)",
      {
        jwks: { keys: [] },
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["RS256"],
        metadataKey: "authorization-bin",
      },
      "`metadataKey` must be a gRPC metadata key for text",
    ],
    [
      "a now that is not a function",
      { jwks: { keys: [] }, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"], now: Date.now() },
      "`now` must be a function",
    ],
    [
      "a toActor that is not a function",
      { jwks: { keys: [] }, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"], toActor: "sub" },
      "`toActor` must be a function",
    ],
    [
      "a cache that is neither an object nor false",
      { jwks: { keys: [] }, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"], cache: true },
      "`cache` must be an object or false",
    ],
    [
      "a cache given as an array",
      { jwks: { keys: [] }, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"], cache: [] },
      "`cache` must be an object or false",
    ],
    [
      "several issuers without a toActor (their users' `sub` values can collide)",
      {
        jwks: { keys: [] },
        issuer: [ISSUER, "https://partner.example/"],
        audience: AUDIENCE,
        algorithms: ["RS256"],
      },
      "several issuers need a `toActor`",
    ],
    [
      "a clock tolerance of 31 years (expiry switched off)",
      {
        key: new Uint8Array(32),
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["HS256"],
        clockToleranceSec: 1e9,
      },
      "jwt authenticator: `clockToleranceSec` must be a number of seconds from 0 to 300",
    ],
    [
      "a clock tolerance given as a string",
      {
        key: new Uint8Array(32),
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["HS256"],
        clockToleranceSec: "30",
      },
      "jwt authenticator: `clockToleranceSec` must be a number of seconds from 0 to 300",
    ],
    [
      "a misspelt option (clockTolerance)",
      {
        key: new Uint8Array(32),
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["HS256"],
        clockTolerance: 0,
      },
      "jwt authenticator: unknown option `clockTolerance` (did you mean `clockToleranceSec`?)",
    ],
    [
      "an authn-interceptor option given here",
      {
        key: new Uint8Array(32),
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["HS256"],
        allowAnonymous: ["/"],
      },
      "jwt authenticator: unknown option `allowAnonymous`",
    ],
    [
      "a misspelt cache option",
      {
        key: new Uint8Array(32),
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["HS256"],
        cache: { ttlMS: 5 },
      },
      "jwt authenticator: cache: unknown option `ttlMS` (did you mean `ttlMs`?)",
    ],
    [
      "a remoteJwksOptions value jose refuses (its reason in the message)",
      {
        jwksUrl: "https://id.example.test/jwks",
        remoteJwksOptions: { timeoutDuration: -1 },
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["RS256"],
      },
      'jwt authenticator: `remoteJwksOptions`: "timeoutDuration" option must be a non-negative integer',
    ],
    [
      "a key set of the wrong shape",
      { jwks: { keys: "k" }, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"] },
      "jwt authenticator: `jwks` is invalid: JSON Web Key Set malformed",
    ],
  ])("throws an AuditConfigError for %s", (_name, options, message) => {
    expect(() => createJwtAuthenticator(options as never)).toThrow(AuditConfigError);
    expect(() => createJwtAuthenticator(options as never)).toThrow(message);
  });
});
