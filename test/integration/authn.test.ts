import { Metadata, status } from "@grpc/grpc-js";
import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { eventToJson } from "../../src/event/serialize.js";
import { ActorType, AuthnFailureReason, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import {
  AUDIENCE,
  ISSUER,
  jwtAuthenticatorFor,
  newSigningKey,
  type SigningKey,
  serveJwks,
  signToken,
} from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

function withToken(token: string | undefined, requestId = "req-1"): Metadata {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

describe("authn interceptor over real gRPC", () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  let key: SigningKey;
  let server: ProjectServer;

  beforeAll(async () => {
    key = await newSigningKey("k1");
    const jwt = jwtAuthenticatorFor(key);
    server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [jwt], allowAnonymous: ["/example.v1.ProjectService/GetProject"] },
      }),
    );
  });
  afterAll(() => server.close());
  afterEach(() => {
    memory.clear();
    server.seenScopes.length = 0;
  });

  const create = (metadata: Metadata) =>
    unary(server.client.createProject.bind(server.client), { name: "apollo" }, metadata);

  it("records the authenticated caller on the authn event and the mutation, and shows it to the handler", async () => {
    const [error, project] = await create(withToken(await signToken(key), "req-ok"));
    expect(error).toBeNull();
    expect(project?.ownerId).toBe("alice");
    const events = await memory.waitForCount(2);
    expect(
      events.map((e) => [e.eventType, e.actor?.id, e.actor?.type, e.requestId, e.result?.code]),
    ).toStrictEqual([
      [EventType.EVENT_TYPE_AUTHN_RESULT, "alice", ActorType.ACTOR_TYPE_USER, "req-ok", "OK"],
      [EventType.EVENT_TYPE_RESOURCE_MUTATION, "alice", ActorType.ACTOR_TYPE_USER, "req-ok", "OK"],
    ]);
    expect(events[0]?.actor).toStrictEqual({
      id: "alice",
      type: ActorType.ACTOR_TYPE_USER,
      displayName: "",
      email: "",
      subject: "alice",
      clientId: "web",
      realm: ISSUER,
    });
  });

  it("rejects a call without a token as UNAUTHENTICATED and records the refusal, never running the handler", async () => {
    const [error] = await create(withToken(undefined, "req-none"));
    expect([error?.code, error?.details]).toStrictEqual([status.UNAUTHENTICATED, "unauthenticated: missing"]);
    const [event] = await memory.waitForCount(1);
    expect([
      event?.actor?.type,
      event?.requestId,
      event?.operation,
      event?.result,
      event?.detail,
    ]).toStrictEqual([
      ActorType.ACTOR_TYPE_ANONYMOUS,
      "req-none",
      "/example.v1.ProjectService/CreateProject",
      { success: false, code: "UNAUTHENTICATED", message: "" },
      {
        $case: "authn",
        value: {
          method: "jwt",
          success: false,
          failureReason: AuthnFailureReason.AUTHN_FAILURE_REASON_MISSING,
        },
      },
    ]);
    expect(server.seenScopes).toHaveLength(0);
    expect(memory.events).toHaveLength(1);
  });

  it("records an expired token by reason, and no part of the token appears in the event", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken(key, { exp: now - 600, iat: now - 4000 });
    const [error] = await create(withToken(token, "req-expired"));
    expect([error?.code, error?.details]).toStrictEqual([status.UNAUTHENTICATED, "unauthenticated: expired"]);
    const [event] = await memory.waitForCount(1);
    expect(event?.detail).toStrictEqual({
      $case: "authn",
      value: {
        method: "jwt",
        success: false,
        failureReason: AuthnFailureReason.AUTHN_FAILURE_REASON_EXPIRED,
      },
    });
    if (event === undefined) throw new Error("no event");
    const serialized = JSON.stringify(eventToJson(event));
    for (const part of token.split(".")) expect(serialized).not.toContain(part);
  });

  it("lets anonymous-allowed methods through without a token, but still refuses a bad one", async () => {
    const get = (metadata: Metadata) =>
      unary(server.client.getProject.bind(server.client), { id: "p-1" }, metadata);
    const [anonymousError] = await get(withToken(undefined));
    expect(anonymousError).toBeNull();
    expect(server.seenScopes[0]?.actor).toBeUndefined();
    // No authn event for a call without a credential on an anonymous-allowed method; only its read.
    expect(memory.events.map((e) => [e.eventType, e.actor?.id])).toStrictEqual([
      [EventType.EVENT_TYPE_RESOURCE_ACCESS, "anonymous"],
    ]);
    const [badError] = await get(withToken("not.a.jwt"));
    expect(badError?.code).toBe(status.UNAUTHENTICATED);
  });

  it("keeps the callers of 50 concurrent calls apart", async () => {
    const users = Array.from({ length: 50 }, (_, i) => `user-${i}`);
    const tokens = await Promise.all(users.map((sub) => signToken(key, { sub })));
    const responses = await Promise.all(tokens.map((token, i) => create(withToken(token, `req-${i}`))));
    expect(responses.map(([, project]) => project?.ownerId)).toStrictEqual(users);
    await memory.waitForCount(100);
    const mutations = memory.filter({ eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION });
    expect(mutations.map((e) => [e.requestId, e.actor?.id]).sort()).toStrictEqual(
      users.map((u, i) => [`req-${i}`, u]).sort(),
    );
  });
});

// An authenticator that answers without a promise, as the authenticator contract allows: the
// interceptor must decide at once, and still fall through to an asynchronous one (JWT) when it finds
// no credential of its kind.
describe("an authenticator that answers synchronously, over real gRPC", () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const apiKey: Authenticator = {
    method: "api-key",
    authenticate(metadata) {
      const [value] = metadata.get("x-api-key");
      if (value === undefined) return { kind: "absent" };
      if (value === "throw") throw new Error("key lookup broke");
      return value === "k-carol"
        ? { kind: "authenticated", actor: { id: "carol", type: "service" } }
        : { kind: "refused", reason: "bad_signature" };
    },
  };
  let key: SigningKey;
  let server: ProjectServer;

  beforeAll(async () => {
    key = await newSigningKey("k1");
    const jwt = jwtAuthenticatorFor(key);
    server = await startProjectServer(
      createAuditInterceptors({ recorder, rules: auditRules, authn: { authenticators: [apiKey, jwt] } }),
    );
  });
  afterAll(() => server.close());
  afterEach(() => {
    memory.clear();
    server.seenScopes.length = 0;
  });

  const create = (metadata: Metadata) =>
    unary(server.client.createProject.bind(server.client), { name: "apollo" }, metadata);
  const withKey = (value: string) => {
    const metadata = new Metadata();
    metadata.set("x-api-key", value);
    return metadata;
  };
  const authnEvent = async () => {
    const [event] = memory.filter({ eventType: EventType.EVENT_TYPE_AUTHN_RESULT });
    return event?.detail?.$case === "authn" ? [event.actor?.id, event.detail.value] : undefined;
  };

  it("lets a caller it accepts through, as that caller", async () => {
    const [error, project] = await create(withKey("k-carol"));
    expect([error, project?.ownerId]).toStrictEqual([null, "carol"]);
    expect(await authnEvent()).toStrictEqual([
      "carol",
      {
        method: "api-key",
        success: true,
        failureReason: AuthnFailureReason.AUTHN_FAILURE_REASON_UNSPECIFIED,
      },
    ]);
  });

  it("refuses a credential it refuses, and one whose check throws, without running the handler", async () => {
    // A check that throws could not tell a bad credential: UNAVAILABLE, as an authz engine failure.
    for (const [value, reason, code] of [
      ["k-mallory", AuthnFailureReason.AUTHN_FAILURE_REASON_BAD_SIGNATURE, status.UNAUTHENTICATED],
      ["throw", AuthnFailureReason.AUTHN_FAILURE_REASON_ERROR, status.UNAVAILABLE],
    ] as const) {
      const [error] = await create(withKey(value));
      expect(error?.code).toBe(code);
      expect((await authnEvent())?.[1]).toStrictEqual({
        method: "api-key",
        success: false,
        failureReason: reason,
      });
      memory.clear();
    }
    expect(server.seenScopes).toHaveLength(0);
  });

  it("passes a call without its kind of credential on to the next authenticator", async () => {
    const [error, project] = await create(withToken(await signToken(key)));
    expect([error, project?.ownerId]).toStrictEqual([null, "alice"]);
    expect((await authnEvent())?.[0]).toBe("alice");
  });
});

describe("authn failure codes over real gRPC, keys from a JWKS served over loopback HTTP", () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  let rsa: SigningKey;
  let ec: SigningKey;
  let stranger: SigningKey;
  let jwks: Awaited<ReturnType<typeof serveJwks>>;
  let server: ProjectServer;

  beforeAll(async () => {
    rsa = await newSigningKey("rsa-1", "RS256");
    ec = await newSigningKey("ec-1", "ES256");
    stranger = await newSigningKey("rsa-1", "RS256"); // same kid as rsa, other key: a forged signature
    jwks = await serveJwks(() => ({ keys: [...rsa.jwks.keys, ...ec.jwks.keys] }));
    const jwt = createJwtAuthenticator({
      jwksUrl: jwks.url,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256", "ES256"],
    });
    server = await startProjectServer(
      createAuditInterceptors({ recorder, rules: auditRules, authn: { authenticators: [jwt] } }),
    );
  });
  afterAll(async () => {
    await server.close();
    await jwks.close();
  });
  afterEach(() => memory.clear());

  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<string | undefined>][] = [
    ["MISSING", async () => undefined],
    ["MALFORMED", async () => "not-a-jwt"],
    ["EXPIRED", () => signToken(rsa, { exp: now() - 600, iat: now() - 4000 })],
    ["NOT_YET_VALID", () => signToken(ec, { nbf: now() + 600 })],
    ["WRONG_ISSUER", () => signToken(rsa, { iss: "https://other.example/" })],
    ["WRONG_AUDIENCE", () => signToken(ec, { aud: "other-api" })],
    ["BAD_SIGNATURE", () => signToken(stranger)],
    ["UNKNOWN_KEY", () => signToken(rsa, {}, { kid: "rsa-9" })],
    [
      "DISALLOWED_ALGORITHM",
      () =>
        new SignJWT({ sub: "alice" })
          .setProtectedHeader({ alg: "HS256" })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode("a shared secret of thirty-two bytes!")),
    ],
  ];

  it.each(cases)("%s: UNAUTHENTICATED and one authn event with that code", async (code, token) => {
    const [error] = await unary(
      server.client.createProject.bind(server.client),
      { name: "x" },
      withToken(await token()),
    );
    expect(error?.code).toBe(status.UNAUTHENTICATED);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(memory.events).toHaveLength(1);
    expect(memory.events[0]?.detail).toStrictEqual({
      $case: "authn",
      value: {
        method: "jwt",
        success: false,
        failureReason: AuthnFailureReason[`AUTHN_FAILURE_REASON_${code}` as keyof typeof AuthnFailureReason],
      },
    });
  });

  it.each([["RS256"], ["ES256"]])(
    "%s: accepted, one authn event, and the mutation names the same actor",
    async (alg) => {
      const token = await signToken(alg === "RS256" ? rsa : ec, { sub: `${alg}-user` });
      const [error] = await unary(
        server.client.createProject.bind(server.client),
        { name: "x" },
        withToken(token),
      );
      expect(error).toBeNull();
      const events = await memory.waitForCount(2);
      expect(events.map((e) => [e.eventType, e.actor?.id])).toStrictEqual([
        [EventType.EVENT_TYPE_AUTHN_RESULT, `${alg}-user`],
        [EventType.EVENT_TYPE_RESOURCE_MUTATION, `${alg}-user`],
      ]);
    },
  );
});
