import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import type { AuthnResultInput } from "../../src/authn/observer.js";
import type { Authorizer } from "../../src/authz/authorizer.js";
import type { AuthzDecisionInput } from "../../src/authz/observer.js";
import { authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditScopeInterceptor } from "../../src/interceptors/audit-scope-interceptor.js";
import { createAuthnInterceptor } from "../../src/interceptors/authn-interceptor.js";
import { createAuthzInterceptor } from "../../src/interceptors/authz-interceptor.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

const UPDATE = "/example.v1.ProjectService/UpdateProject";
const STORE = { storeId: "01JSTORE0000000000000000000", modelId: "01JMODEL0000000000000000000" };

/**
 * A credential of the form `x-user: <id>`. "silent" is refused with no reason, as an authenticator
 * written in JavaScript may do.
 */
const headerAuthenticator: Authenticator = {
  method: "x-user",
  authenticate(metadata) {
    const [user] = metadata.get("x-user");
    if (user === undefined) return { kind: "absent" };
    if (user === "silent") return { kind: "refused" } as never;
    return { kind: "authenticated", actor: { id: String(user) } };
  },
};

// What the observers get is the Recorder's input as it stands: these tests assert each report whole,
// and that the Recorder accepts every one of them.
describe("what the authn and authz interceptors report to their observers", () => {
  const reports: (AuthnResultInput | AuthzDecisionInput)[] = [];
  const recorder = createRecorder({ service: "projects", emitters: [createMemoryEmitter()] });
  const fake = createFakeAuthorizer(["user:alice|editor|project:p-1"]);
  // Answers "error" with no reason, as an authorizer written in JavaScript may do.
  const reasonless: Authorizer = {
    ...STORE,
    check: async () =>
      ({ kind: "error", error: Object.assign(new Error("x"), { code: "ECONNRESET" }) }) as never,
    batchCheck: async () => [],
  };
  let authorizer: Authorizer = fake.authorizer;
  let server: ProjectServer;

  beforeAll(async () => {
    server = await startProjectServer([
      createAuditScopeInterceptor(),
      createAuthnInterceptor({
        authenticators: [headerAuthenticator],
        allowAnonymous: [UPDATE],
        observer: (input) => reports.push(input),
      }),
      createAuthzInterceptor({
        // Forwards to `authorizer`, so one test can swap in an authorizer without a reason.
        authorizer: {
          ...STORE,
          check: (request, options) => authorizer.check(request, options),
          batchCheck: (requests, options) => authorizer.batchCheck(requests, options),
        },
        rules: { [UPDATE]: authzRules[UPDATE] },
        observer: (input) => reports.push(input),
      }),
    ]);
  });
  afterAll(() => server.close());
  beforeEach(() => {
    reports.length = 0;
    authorizer = fake.authorizer;
  });

  const as = (user?: string) => {
    const metadata = new Metadata();
    if (user !== undefined) metadata.set("x-user", user);
    return metadata;
  };
  const update = (metadata: Metadata) =>
    unary(
      server.client.updateProject.bind(server.client),
      { project: { id: "p-1", name: "n", ownerId: "" } },
      metadata,
    );
  const editor = { relation: "editor", objectType: "project", objectId: "p-1", ...STORE } as const;

  /** The reports of the last call, after checking that the Recorder accepts each of them. */
  function reported() {
    for (const input of reports) {
      const outcome =
        "decision" in input ? recorder.recordAuthzDecision(input) : recorder.recordAuthnResult(input);
      expect(outcome).toBe("accepted");
    }
    return reports;
  }

  it("reports an allowed and a denied check with their decision and status", async () => {
    expect((await update(as("alice")))[0]).toBeNull();
    const [denied] = await update(as("bob"));
    expect(denied?.code).toBe(status.PERMISSION_DENIED);
    expect(reported()).toStrictEqual([
      { method: "x-user", success: true, actor: { id: "alice" } },
      {
        ...editor,
        user: "user:alice",
        decision: "allowed",
        cacheHit: false,
        result: { success: true, code: status.OK },
      },
      { method: "x-user", success: true, actor: { id: "bob" } },
      {
        ...editor,
        user: "user:bob",
        decision: "denied",
        cacheHit: false,
        result: { success: false, code: status.PERMISSION_DENIED },
      },
    ]);
  });

  it("reports an anonymous caller as denied with its reason, and a method without a rule as no_rule", async () => {
    expect((await update(as()))[0]?.code).toBe(status.UNAUTHENTICATED);
    const [noRule] = await unary(server.client.createProject.bind(server.client), { name: "a" }, as("alice"));
    expect(noRule?.code).toBe(status.PERMISSION_DENIED);
    expect(reported()).toStrictEqual([
      {
        ...editor,
        decision: "denied",
        errorReason: "anonymous",
        result: { success: false, code: status.UNAUTHENTICATED },
      },
      { method: "x-user", success: true, actor: { id: "alice" } },
      {
        relation: "",
        objectType: "",
        objectId: "",
        decision: "no_rule",
        result: { success: false, code: status.PERMISSION_DENIED },
      },
    ]);
  });

  it("names an engine error without a reason by the error's code", async () => {
    authorizer = reasonless;
    expect((await update(as("alice")))[0]?.code).toBe(status.UNAVAILABLE);
    expect(reported()).toStrictEqual([
      { method: "x-user", success: true, actor: { id: "alice" } },
      {
        ...editor,
        user: "user:alice",
        decision: "error",
        errorReason: "ECONNRESET",
        result: { success: false, code: status.UNAVAILABLE },
      },
    ]);
  });

  it("refuses a credential refused without a reason as an error, and never lets the call on", async () => {
    const [error] = await update(as("silent"));
    expect([error?.code, error?.details]).toStrictEqual([status.UNAVAILABLE, "authentication unavailable"]);
    expect(reported()).toStrictEqual([
      {
        method: "x-user",
        success: false,
        failureReason: "error",
        result: { success: false, code: status.UNAVAILABLE },
      },
    ]);
  });
});
