/**
 * What the JWT authenticator takes as its kind of credential, and how a credential that could not be
 * checked ends, over real grpc-js on loopback with real signed JWTs (jose) and, for the outage, a
 * loopback JWKS endpoint answering 500 (an identity provider that is down).
 *
 * Review R116. Before the fix: `authorization: ""` (sent by client wrappers holding no token), a blank
 * value and a scheme word alone (`Basic`, `Negotiate`) were refused as malformed (UNAUTHENTICATED),
 * also on an `allowAnonymous` method, and stopped the next authenticator of a chain; a key set that
 * could not be fetched answered UNAUTHENTICATED "unauthenticated: error", as a bad credential would.
 */
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { eventToJson } from "../../src/event/serialize.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type IdentityProvider, startIdentityProvider } from "../helpers/identity-provider.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

const CREATE = "/example.v1.ProjectService/CreateProject";
const UPDATE = "/example.v1.ProjectService/UpdateProject";
const AT = new Date("2026-12-07T03:00:00.000Z");

/** An API key authenticator, the next one in the chain. */
const apiKey: Authenticator = {
  method: "api_key",
  credentialMetadataKeys: ["x-api-key"],
  authenticate(metadata) {
    const [value] = metadata.get("x-api-key");
    if (value === undefined) return { kind: "absent" };
    return value === "k-billing"
      ? { kind: "authenticated", actor: { id: "svc-billing", type: "service" } }
      : { kind: "refused", reason: "bad_signature" };
  },
};

function recorderWithMemory() {
  const memory = createMemoryEmitter();
  let nextId = 0;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => AT,
    monotonicNowMs: () => 0,
    newEventId: () => `event-${++nextId}`,
    chain: false,
  });
  return { memory, recorder };
}

function metadataOf(entries: Record<string, string>): Metadata {
  const metadata = new Metadata();
  metadata.set("x-request-id", "req-1");
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}

/** An event as JSON, without the facts of the connection (the client's port, grpc-js's version). */
function eventJson(event: Parameters<typeof eventToJson>[0] | undefined) {
  if (event === undefined) return undefined;
  const { peer: _peer, userAgent: _userAgent, ...rest } = eventToJson(event) as Record<string, unknown>;
  return rest;
}

describe("JWT authenticator: an authorization value that is no credential, over real gRPC", () => {
  const { memory, recorder } = recorderWithMemory();
  let key: SigningKey;
  let server: ProjectServer;

  beforeAll(async () => {
    key = await newSigningKey("k1");
    const jwt = createJwtAuthenticator({
      jwks: key.jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
    });
    server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [jwt, apiKey], allowAnonymous: [CREATE] },
      }),
    );
  });
  afterAll(() => server.close());
  afterEach(() => memory.clear());

  const create = (metadata: Metadata) =>
    unary(server.client.createProject.bind(server.client), { name: "apollo" }, metadata);
  const update = (metadata: Metadata) =>
    unary(
      server.client.updateProject.bind(server.client),
      { project: { id: "p-1", name: "n", ownerId: "" } },
      metadata,
    );

  it.each([
    ["empty", ""],
    ["a scheme word alone", "Basic"],
    ["another scheme word alone", "Negotiate"],
  ])(
    "lets a call whose authorization is %s through an allowAnonymous method, as anonymous",
    async (_, value) => {
      const [error, project] = await create(metadataOf({ authorization: value }));
      expect(error).toBeNull();
      expect(project?.ownerId).toBe("");
      // No authn.result (no credential on an anonymous method): the call's own event is the only one.
      const events = await memory.waitForCount(1);
      expect(events.map((event) => [event.eventType, event.operation, event.actor?.id])).toStrictEqual([
        [EventType.EVENT_TYPE_RESOURCE_MUTATION, CREATE, "anonymous"],
      ]);
    },
  );

  it.each([
    ["empty", ""],
    ["a scheme word alone", "Basic"],
  ])("leaves a call whose authorization is %s to the next authenticator", async (_, value) => {
    const [error] = await update(metadataOf({ authorization: value, "x-api-key": "k-billing" }));
    expect(error).toBeNull();
    // The attempt is recorded before the handler runs: it is the first event of the call.
    const [authn] = await memory.waitForCount(1);
    expect(eventJson(authn)).toStrictEqual({
      eventId: expect.stringMatching(/^event-\d+$/),
      schemaVersion: expect.any(Number),
      occurredAt: AT.toISOString(),
      service: "projects",
      eventType: "EVENT_TYPE_AUTHN_RESULT",
      operation: UPDATE,
      actor: { id: "svc-billing", type: "ACTOR_TYPE_SERVICE" },
      result: { success: true, code: "OK" },
      requestId: "req-1",
      duration: "0s",
      authn: { method: "api_key", success: true },
    });
  });
});

describe("JWT authenticator: one authorization value, asked of the authenticator", () => {
  /** What the authenticator makes of each value, beside it. */
  async function outcomesOf(values: readonly string[]) {
    const key = await newSigningKey("k1");
    const jwt = createJwtAuthenticator({
      jwks: key.jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
    });
    const outcomes = [];
    for (const value of values) {
      const metadata = new Metadata();
      metadata.set("authorization", value);
      outcomes.push([value, await jwt.authenticate(metadata, { method: UPDATE, peer: "127.0.0.1:1" })]);
    }
    return outcomes;
  }

  // Asked of the authenticator: over gRPC the server's grpc-js drops a value with a leading or
  // trailing space before any interceptor sees it, so the call reads as one without the header.
  it("is no credential when blank", async () => {
    expect(await outcomesOf([" ", "   "])).toStrictEqual([
      [" ", { kind: "absent" }],
      ["   ", { kind: "absent" }],
    ]);
  });

  // Review R121: RFC 9110 lets a scheme's name start with any token character.
  it("is no credential when another scheme's name starts with a digit", async () => {
    expect(await outcomesOf(["1Scheme abc", "~x abc"])).toStrictEqual([
      ["1Scheme abc", { kind: "absent" }],
      ["~x abc", { kind: "absent" }],
    ]);
  });

  it("is a refused credential when it is one word that names no auth scheme (a token without its Bearer)", async () => {
    expect(await outcomesOf(["abcDEF123", "ghp_x1Y2", "Negotiate", "ntlm"])).toStrictEqual([
      ["abcDEF123", { kind: "refused", reason: "malformed" }],
      ["ghp_x1Y2", { kind: "refused", reason: "malformed" }],
      ["Negotiate", { kind: "absent" }],
      ["ntlm", { kind: "absent" }],
    ]);
  });
});

describe("JWT authenticator: an identity provider that is down, over real gRPC", () => {
  const { memory, recorder } = recorderWithMemory();
  let key: SigningKey;
  let idp: IdentityProvider;
  let server: ProjectServer;

  beforeAll(async () => {
    key = await newSigningKey("k1");
    idp = await startIdentityProvider(key.jwks);
    idp.state.status = 500;
    const jwt = createJwtAuthenticator({
      jwksUrl: idp.url,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
    });
    server = await startProjectServer(
      createAuditInterceptors({ recorder, rules: auditRules, authn: { authenticators: [jwt] } }),
    );
  });
  afterAll(async () => {
    await server.close();
    idp.close();
  });

  it("answers UNAVAILABLE, not UNAUTHENTICATED, and records the refusal as error with that status", async () => {
    const token = await signToken(key);
    const [error] = await unary(
      server.client.createProject.bind(server.client),
      { name: "apollo" },
      metadataOf({ authorization: `Bearer ${token}` }),
    );
    expect([error?.code, error?.details]).toStrictEqual([status.UNAVAILABLE, "authentication unavailable"]);
    const [event] = await memory.waitForCount(1);
    expect(eventJson(event)).toStrictEqual({
      eventId: "event-1",
      schemaVersion: expect.any(Number),
      occurredAt: AT.toISOString(),
      service: "projects",
      eventType: "EVENT_TYPE_AUTHN_RESULT",
      operation: CREATE,
      actor: { id: "anonymous", type: "ACTOR_TYPE_ANONYMOUS" },
      result: { code: "UNAVAILABLE" },
      requestId: "req-1",
      duration: "0s",
      authn: { method: "jwt", failureReason: "AUTHN_FAILURE_REASON_ERROR" },
    });
    expect(server.seenScopes).toHaveLength(0);
  });
});

describe("JWT authenticator: remoteJwksOptions.headers that fetch cannot send", () => {
  const options = (headers: Record<string, string>) => ({
    jwksUrl: "https://id.example.test/jwks",
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ["RS256" as const],
    remoteJwksOptions: { headers },
  });

  it.each([
    ["name", { "bad header": "x" }],
    ["value", { authorization: "Bearer s3cr3t-value\u0000" }],
    // Review R122: Headers takes it, fetch refuses to send it: every token was refused as `error`.
    ["value with a control character Headers takes", { authorization: "Bearer s3cr3t\u0001value" }],
  ])("names the option for an invalid header %s, never the header's value", (_, headers) => {
    let thrown: unknown;
    try {
      createJwtAuthenticator(options(headers));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AuditConfigError);
    const { message, cause } = thrown as AuditConfigError;
    expect(message).toBe(
      "jwt authenticator: `remoteJwksOptions.headers` has an invalid header name or value",
    );
    expect(String((cause as Error | undefined)?.message ?? "")).not.toContain("s3cr3t");
  });
});
