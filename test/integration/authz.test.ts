import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { type AuditEvent, AuthzDecision, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

const UPDATE = "/example.v1.ProjectService/UpdateProject";

describe("authz interceptor over real gRPC", () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const fake = createFakeAuthorizer(["user:alice|editor|project:p-1", "user:alice|admin|project:global"]);
  let key: SigningKey;
  let server: ProjectServer;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    key = await newSigningKey("k1", "ES256");
    tokens.alice = await signToken(key, { sub: "alice" });
    tokens.bob = await signToken(key, { sub: "bob" });
    const jwt = createJwtAuthenticator({
      jwks: key.jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["ES256"],
    });
    server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        // UpdateProject admits anonymous callers at the authn layer, so authz must refuse them itself.
        authn: { authenticators: [jwt], allowAnonymous: [UPDATE] },
        authz: { authorizer: fake.authorizer, rules: authzRules, timeoutMs: 200 },
      }),
    );
  });
  afterAll(() => server.close());
  afterEach(() => {
    memory.clear();
    server.seenScopes.length = 0;
    fake.state.mode = "normal";
    fake.state.cache = "off";
    fake.state.checks.length = 0;
  });

  function as(user: string | undefined, extra: Record<string, string> = {}): Metadata {
    const metadata = new Metadata();
    if (user !== undefined) metadata.set("authorization", `Bearer ${tokens[user]}`);
    for (const [k, v] of Object.entries(extra)) metadata.set(k, v);
    return metadata;
  }
  const update = (metadata: Metadata, id = "p-1") =>
    unary(
      server.client.updateProject.bind(server.client),
      { project: { id, name: "n", ownerId: "" } },
      metadata,
    );

  /** The one authz event of the call (there must be exactly one). */
  async function authzEvent(): Promise<AuditEvent> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const events = memory.filter({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION });
    expect(events).toHaveLength(1);
    const [event] = events;
    if (event === undefined) throw new Error("no authz event");
    return event;
  }

  /** `user`: the OpenFGA user the default toUser gave (`user:<actor id>`), "" when none was resolved. */
  const detail = (
    decision: AuthzDecision,
    objectId: string,
    user: string,
    errorReason = "",
    relation = "editor",
  ) => ({
    $case: "authz",
    value: {
      relation,
      objectType: "project",
      objectId,
      decision,
      cacheHit: false,
      errorReason,
      storeId: "01JSTORE0000000000000000000",
      modelId: "01JMODEL0000000000000000000",
      user,
    },
  });

  it("ALLOWED: the call reaches the handler and the decision is recorded for the caller", async () => {
    const [error] = await update(as("alice"));
    expect(error).toBeNull();
    const event = await authzEvent();
    expect([event.actor?.id, event.target, event.result, event.detail]).toStrictEqual([
      "alice",
      { type: "project", id: "p-1", name: "" },
      { success: true, code: "OK", message: "" },
      detail(AuthzDecision.AUTHZ_DECISION_ALLOWED, "p-1", "user:alice"),
    ]);
    expect(fake.state.checks).toStrictEqual([
      { user: "user:alice", relation: "editor", object: "project:p-1" },
    ]);
    expect(server.seenScopes[0]?.actor?.id).toBe("alice"); // the handler ran, as alice
  });

  it("DENIED: PERMISSION_DENIED, recorded, and the handler never runs", async () => {
    const [error] = await update(as("bob"));
    expect([error?.code, error?.details]).toStrictEqual([status.PERMISSION_DENIED, "permission denied"]);
    const event = await authzEvent();
    expect([event.actor?.id, event.result, event.detail]).toStrictEqual([
      "bob",
      { success: false, code: "PERMISSION_DENIED", message: "" },
      detail(AuthzDecision.AUTHZ_DECISION_DENIED, "p-1", "user:bob"),
    ]);
    expect(server.seenScopes).toHaveLength(0);
    expect(memory.filter({ eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION })).toHaveLength(0);
  });

  it("NO_RULE: a method without an authz rule is refused (fail-closed)", async () => {
    const [error] = await unary(server.client.createProject.bind(server.client), { name: "x" }, as("alice"));
    expect([error?.code, error?.details]).toStrictEqual([
      status.PERMISSION_DENIED,
      "permission denied: no authorization rule",
    ]);
    const event = await authzEvent();
    expect([event.result, event.detail]).toStrictEqual([
      { success: false, code: "PERMISSION_DENIED", message: "" },
      {
        $case: "authz",
        value: {
          relation: "",
          objectType: "",
          objectId: "",
          decision: AuthzDecision.AUTHZ_DECISION_NO_RULE,
          cacheHit: false,
          errorReason: "",
          storeId: "",
          modelId: "",
          user: "",
        },
      },
    ]);
    expect(server.seenScopes).toHaveLength(0);
  });

  it("ERROR: an engine failure, or a cache lookup that throws, is UNAVAILABLE and recorded as ERROR, never as a deny", async () => {
    for (const broken of ["engine", "cache"]) {
      if (broken === "engine") fake.state.mode = "error";
      else fake.state.cache = "throw";
      const [error] = await update(as("alice"));
      expect([error?.code, error?.details]).toStrictEqual([status.UNAVAILABLE, "authorization unavailable"]);
      const event = await authzEvent();
      expect([event.result?.code, event.detail]).toStrictEqual([
        "UNAVAILABLE",
        detail(
          AuthzDecision.AUTHZ_DECISION_ERROR,
          "p-1",
          "user:alice",
          broken === "engine" ? "unavailable" : "cache_failed",
        ),
      ]);
      memory.clear();
    }
    expect(fake.state.checks).toHaveLength(1); // the engine was asked once: the throwing cache stopped the second
    expect(server.seenScopes).toHaveLength(0);
  });

  it("timeout: a check that does not answer in time is DEADLINE_EXCEEDED and recorded as ERROR", async () => {
    fake.state.mode = "hang";
    const [error] = await update(as("alice"));
    expect([error?.code, error?.details]).toStrictEqual([
      status.DEADLINE_EXCEEDED,
      "authorization timed out",
    ]);
    const event = await authzEvent();
    expect([event.result?.code, event.detail]).toStrictEqual([
      "DEADLINE_EXCEEDED",
      detail(AuthzDecision.AUTHZ_DECISION_ERROR, "p-1", "user:alice", "timeout"),
    ]);
  });

  it("anonymous: a caller without identity is refused UNAUTHENTICATED without asking the engine", async () => {
    const [error] = await update(as(undefined));
    expect(error?.code).toBe(status.UNAUTHENTICATED);
    const event = await authzEvent();
    expect([event.actor?.type, event.result?.code, event.detail]).toStrictEqual([
      "ACTOR_TYPE_ANONYMOUS",
      "UNAUTHENTICATED",
      detail(AuthzDecision.AUTHZ_DECISION_DENIED, "p-1", "", "anonymous"),
    ]);
    expect(fake.state.checks).toHaveLength(0);
  });

  it("bad object id: an empty id is INVALID_ARGUMENT and recorded as ERROR", async () => {
    const [error] = await update(as("alice"), "");
    expect([error?.code, error?.details]).toStrictEqual([
      status.INVALID_ARGUMENT,
      "invalid argument: object id missing",
    ]);
    const event = await authzEvent();
    expect(event.detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_ERROR, "", "", "object_id_unresolved"),
    );
    expect(fake.state.checks).toHaveLength(0);
  });

  it("server streaming: the object id comes from the request before the handler starts", async () => {
    const stream = server.client.archiveProject({ projectId: "p-2" }, as("alice"));
    const error = await new Promise<{ code?: number }>((resolve) => {
      stream.on("data", () => {});
      stream.on("error", resolve);
    });
    expect(error.code).toBe(status.PERMISSION_DENIED);
    expect((await authzEvent()).detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_DENIED, "p-2", "user:alice"),
    );
    expect(server.seenScopes).toHaveLength(0);
  });

  it("client streaming: the object id comes from metadata; without it the call is refused", async () => {
    const importMembers = (metadata: Metadata) =>
      new Promise<{ code?: number } | null>((resolve) => {
        const call = server.client.importMembers(metadata, (error) => resolve(error));
        call.write({ projectId: "p-1", userId: "u", role: "viewer" });
        call.end();
      });
    expect(await importMembers(as("alice", { "x-project-id": "p-1" }))).toBeNull();
    expect((await authzEvent()).detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_ALLOWED, "p-1", "user:alice"),
    );
    memory.clear();
    expect((await importMembers(as("alice")))?.code).toBe(status.INVALID_ARGUMENT);
    expect((await authzEvent()).detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_ERROR, "", "", "object_id_unresolved"),
    );
  });

  it("bidi: a fixed object id is checked at metadata time", async () => {
    const call = server.client.syncMembers(as("alice"));
    const done = new Promise<void>((resolve, reject) => {
      call.on("data", () => {});
      call.on("end", resolve);
      call.on("error", reject);
    });
    call.write({ member: { memberId: 1, projectId: "p-1", userId: "u", role: "editor" } });
    call.end();
    await done;
    expect((await authzEvent()).detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_ALLOWED, "global", "user:alice", "", "admin"),
    );
  });

  it("cached: a decision the authorizer has at hand decides without a check, recorded as a cache hit", async () => {
    fake.state.cache = "hit";
    const [allowed] = await update(as("alice"));
    expect(allowed).toBeNull();
    expect((await authzEvent()).detail).toStrictEqual({
      ...detail(AuthzDecision.AUTHZ_DECISION_ALLOWED, "p-1", "user:alice"),
      value: { ...detail(AuthzDecision.AUTHZ_DECISION_ALLOWED, "p-1", "user:alice").value, cacheHit: true },
    });
    expect(server.seenScopes[0]?.actor?.id).toBe("alice");
    memory.clear();
    const seen = server.seenScopes.length;
    const [denied] = await update(as("bob"));
    expect(denied?.code).toBe(status.PERMISSION_DENIED);
    expect((await authzEvent()).result?.code).toBe("PERMISSION_DENIED");
    expect(fake.state.checks).toStrictEqual([]);
    expect(server.seenScopes).toHaveLength(seen); // bob's call never reached the handler
  });

  it("public methods pass without a check or an authz event", async () => {
    const [error] = await unary(server.client.getProject.bind(server.client), { id: "p-1" }, as("bob"));
    expect(error).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(memory.filter({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION })).toHaveLength(0);
    expect(fake.state.checks).toHaveLength(0);
  });
});

describe("missingRule: allow", () => {
  it("lets a method without a rule through and records NO_RULE with status OK", async () => {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "projects", emitters: [memory] });
    const { authorizer } = createFakeAuthorizer([]);
    const server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        authz: { authorizer, rules: authzRules, missingRule: "allow" },
      }),
    );
    try {
      const [error] = await unary(
        server.client.createProject.bind(server.client),
        { name: "x" },
        new Metadata(),
      );
      expect(error).toBeNull();
      const [event] = memory.filter({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION });
      expect([event?.result, event?.detail?.$case === "authz" && event.detail.value.decision]).toStrictEqual([
        { success: true, code: "OK", message: "" },
        AuthzDecision.AUTHZ_DECISION_NO_RULE,
      ]);
    } finally {
      await server.close();
    }
  });
});
