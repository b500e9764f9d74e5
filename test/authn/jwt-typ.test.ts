/**
 * The JWT authenticator's `typ` option (explicit typing, RFC 8725 §3.11; RFC 9068 `at+jwt`): real
 * jose-signed tokens, directly and over real gRPC on loopback with the audit interceptors.
 */
import { Metadata, status } from "@grpc/grpc-js";
import { type JWTPayload, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator, AuthnOutcome } from "../../src/authn/authenticator.js";
import { createJwtAuthenticator, type JwtAuthenticatorOptions } from "../../src/authn/jwt-authenticator.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { eventToJson } from "../../src/event/serialize.js";
import { AuthnFailureReason, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";
import { FIXED_TIME, fixedRecorder } from "../helpers/recorder.js";

const CALL = { method: "/example.v1.ProjectService/CreateProject", peer: "127.0.0.1:1" };
const ALICE = { id: "alice", type: "user", subject: "alice", clientId: "web", realm: ISSUER };

function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

/** The actor id of an accepted token, the reason of a refused one. */
function summary(outcome: AuthnOutcome): string {
  if (outcome.kind === "authenticated") return outcome.actor.id;
  return outcome.kind === "refused" ? outcome.reason : outcome.kind;
}

/** A real token for alice signed with `key`, with this `typ` header (none when undefined). */
function signTyped(key: SigningKey, typ: string | undefined, claims: JWTPayload = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ azp: "web", ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...(typ === undefined ? {} : { typ }) })
    .setSubject("alice")
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt((claims.iat as number | undefined) ?? now)
    .setExpirationTime((claims.exp as number | undefined) ?? now + 3600)
    .sign(key.privateKey);
}

describe("JWT authenticator typ option", () => {
  let key: SigningKey;
  let stranger: SigningKey;
  const base = (): JwtAuthenticatorOptions => ({
    jwks: key.jwks,
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ["RS256"],
    cache: false,
  });
  const outcomeOf = async (jwt: Authenticator, typ: string | undefined, claims?: JWTPayload) =>
    jwt.authenticate(bearer(await signTyped(key, typ, claims)), CALL);

  beforeAll(async () => {
    key = await newSigningKey("k1");
    stranger = await newSigningKey("k1"); // same kid, another key: a signature that does not verify
  });

  it.each([
    ["at+jwt", "at+jwt"],
    ["at+jwt", "application/at+jwt"],
    ["at+jwt", "AT+JWT"],
    ["application/at+jwt", "at+jwt"],
    ["Application/AT+JWT", "application/at+jwt"],
  ])("with typ %j accepts a token whose typ is %j (compared as jose does)", async (option, typ) => {
    const jwt = createJwtAuthenticator({ ...base(), typ: option });
    expect(await outcomeOf(jwt, typ)).toStrictEqual({ kind: "authenticated", actor: ALICE });
  });

  it.each([
    ["another type", "JWT"],
    ["an ID token's type", "id_token+jwt"],
    ["another type with the same subtype name", "text/at+jwt"],
    ["no typ header", undefined],
  ])('with typ "at+jwt" refuses a token of %s as wrong_type', async (_name, typ) => {
    const jwt = createJwtAuthenticator({ ...base(), typ: "at+jwt" });
    expect(await outcomeOf(jwt, typ)).toStrictEqual({ kind: "refused", reason: "wrong_type" });
  });

  it("takes a list: a token of any listed type passes, of another or none is refused as wrong_type", async () => {
    const jwt = createJwtAuthenticator({ ...base(), typ: ["at+jwt", "application/secevent+jwt"] });
    const outcomes = [];
    for (const typ of ["at+jwt", "application/AT+JWT", "secevent+jwt", "JWT", undefined]) {
      outcomes.push(summary(await outcomeOf(jwt, typ)));
    }
    expect(outcomes).toStrictEqual(["alice", "alice", "alice", "wrong_type", "wrong_type"]);
  });

  it.each([
    ["one type", "at+jwt"],
    ["a list", ["at+jwt", "secevent+jwt"]],
  ])(
    "with %s, checks the type after the signature and before the claims, as jose orders them",
    async (_name, typ) => {
      const jwt = createJwtAuthenticator({ ...base(), typ });
      const now = Math.floor(Date.now() / 1000);
      const expired = { exp: now - 3600, iat: now - 7200 };
      const reasons = [];
      for (const token of [
        await signTyped(stranger, "JWT"), // a forged token is never said to be of the wrong type
        await signTyped(key, "JWT", expired),
        await signTyped(key, "at+jwt", expired),
      ]) {
        reasons.push(summary(await jwt.authenticate(bearer(token), CALL)));
      }
      expect(reasons).toStrictEqual(["bad_signature", "wrong_type", "expired"]);
    },
  );

  it("checks no typ by default: the tokens a typ option refuses are accepted without it", async () => {
    const unchecked = createJwtAuthenticator(base());
    const checked = createJwtAuthenticator({ ...base(), typ: "at+jwt" });
    const kinds = [];
    for (const typ of ["JWT", "id_token+jwt", undefined]) {
      kinds.push([(await outcomeOf(unchecked, typ)).kind, (await outcomeOf(checked, typ)).kind]);
    }
    expect(kinds).toStrictEqual([
      ["authenticated", "refused"],
      ["authenticated", "refused"],
      ["authenticated", "refused"],
    ]);
  });

  it.each([
    ["an empty string", "", '`typ` must be a non-empty string or list of strings, such as "at+jwt"'],
    ["an empty list", [], '`typ` must be a non-empty string or list of strings, such as "at+jwt"'],
    [
      "a list with an empty string",
      ["at+jwt", ""],
      '`typ` must be a non-empty string or list of strings, such as "at+jwt"',
    ],
    ["a number", 1, '`typ` must be a non-empty string or list of strings, such as "at+jwt"'],
    [
      "a list with a number",
      ["at+jwt", 1],
      '`typ` must be a non-empty string or list of strings, such as "at+jwt"',
    ],
    [
      "a value with a space",
      " at+jwt",
      '`typ` is not a media type, such as "at+jwt" or "application/at+jwt"',
    ],
    [
      "a list with a value of two slashes",
      ["at+jwt", "application/at+jwt/x"],
      '`typ[1]` is not a media type, such as "at+jwt" or "application/at+jwt"',
    ],
  ])("throws an AuditConfigError naming typ for %s", (_name, typ, problem) => {
    const create = () => createJwtAuthenticator({ ...base(), typ: typ as never });
    expect(create).toThrow(AuditConfigError);
    expect(create).toThrow(`jwt authenticator: ${problem}`);
  });
});

describe("JWT typ over real gRPC", () => {
  const { recorder, memory } = fixedRecorder();
  let key: SigningKey;
  let server: ProjectServer;

  beforeAll(async () => {
    key = await newSigningKey("k1");
    const jwt = createJwtAuthenticator({
      jwks: key.jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
      typ: "at+jwt",
    });
    server = await startProjectServer(
      createAuditInterceptors({ recorder, rules: auditRules, authn: { authenticators: [jwt] } }),
    );
  });
  afterAll(async () => {
    await server.close();
    await recorder.close();
  });
  afterEach(() => memory.clear());

  const create = async (token: string) => {
    const metadata = bearer(token);
    metadata.set("x-request-id", "req-typ");
    return unary(server.client.createProject.bind(server.client), { name: "apollo" }, metadata);
  };

  it.each([
    ["of another type", "JWT"],
    ["without a typ", undefined],
  ])(
    "refuses a token %s with UNAUTHENTICATED: wrong_type, and the authn event says so",
    async (_name, typ) => {
      const [error] = await create(await signTyped(key, typ));
      expect([error?.code, error?.details]).toStrictEqual([
        status.UNAUTHENTICATED,
        "unauthenticated: wrong_type",
      ]);
      const [event] = await memory.waitForCount(1);
      expect(event?.detail).toStrictEqual({
        $case: "authn",
        value: {
          method: "jwt",
          success: false,
          failureReason: AuthnFailureReason.AUTHN_FAILURE_REASON_WRONG_TYPE,
        },
      });
      if (event === undefined) throw new Error("no event");
      // The whole event as written, but for what each call changes: its id, port, duration, chain link.
      const { eventId, peer, duration, chain, ...fixed } = eventToJson(event);
      expect([eventId, peer, typeof duration, typeof chain]).toStrictEqual([
        expect.stringMatching(/^evt-\d+$/),
        expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        "string",
        "object",
      ]);
      expect(fixed).toStrictEqual({
        eventType: "EVENT_TYPE_AUTHN_RESULT",
        schemaVersion: 2,
        occurredAt: FIXED_TIME.toISOString(),
        service: "projects",
        operation: "/example.v1.ProjectService/CreateProject",
        actor: { id: "anonymous", type: "ACTOR_TYPE_ANONYMOUS" },
        result: { code: "UNAUTHENTICATED" },
        requestId: "req-typ",
        userAgent: expect.stringMatching(/^grpc-node-js\//),
        authn: { method: "jwt", failureReason: "AUTHN_FAILURE_REASON_WRONG_TYPE" },
      });
      expect(server.seenScopes).toHaveLength(0);
    },
  );

  it("accepts an at+jwt token: the authn event and the mutation name alice", async () => {
    const [error, project] = await create(await signTyped(key, "application/at+jwt"));
    expect([error, project?.ownerId]).toStrictEqual([null, "alice"]);
    const events = await memory.waitForCount(2);
    expect(events.map((e) => [e.eventType, e.actor?.id, e.result?.code, e.detail?.$case])).toStrictEqual([
      [EventType.EVENT_TYPE_AUTHN_RESULT, "alice", "OK", "authn"],
      [EventType.EVENT_TYPE_RESOURCE_MUTATION, "alice", "OK", "resourceMutation"],
    ]);
  });
});
