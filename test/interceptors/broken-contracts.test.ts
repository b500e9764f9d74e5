// Authenticators, authorizers and toUser functions that break their contract (JavaScript callers): the
// call is refused with a recorded reason, never left hanging, over real loopback gRPC.
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Authenticator, AuthnOutcome } from "../../src/authn/authenticator.js";
import type { AuthnResultInput } from "../../src/authn/observer.js";
import type { Decision } from "../../src/authz/authorizer.js";
import type { AuthzDecisionInput } from "../../src/authz/observer.js";
import { authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createAuditScopeInterceptor } from "../../src/interceptors/audit-scope-interceptor.js";
import { createAuthnInterceptor } from "../../src/interceptors/authn-interceptor.js";
import { createAuthzInterceptor } from "../../src/interceptors/authz-interceptor.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

const UPDATE = "/example.v1.ProjectService/UpdateProject";

/**
 * `x-user: <id>` authenticates as <id>; `x-broken: <how>` answers the way an authenticator written in
 * JavaScript may, outside its contract: a promise of nothing, a promise of an actor-less success, or
 * the same without a promise.
 */
const broken: Authenticator = {
  method: "x-user",
  authenticate(metadata) {
    const [how] = metadata.get("x-broken");
    const [user] = metadata.get("x-user");
    if (how === "async-undefined") return Promise.resolve(undefined as unknown as AuthnOutcome);
    if (how === "async-no-actor") return Promise.resolve({ kind: "authenticated" } as AuthnOutcome);
    if (how === "sync-undefined") return undefined as unknown as AuthnOutcome;
    if (how === "sync-no-actor") return { kind: "authenticated" } as AuthnOutcome;
    if (user === undefined) return { kind: "absent" };
    return { kind: "authenticated", actor: { id: String(user) } };
  },
};

describe("authenticators, authorizers and toUser that break their contract", () => {
  const reports: (AuthnResultInput | AuthzDecisionInput)[] = [];
  const fake = createFakeAuthorizer(["user:alice|editor|project:p-1"]);
  let toUserThrows = false;
  let authorizerAnswersNothing = false;
  let server: ProjectServer;

  beforeAll(async () => {
    server = await startProjectServer([
      createAuditScopeInterceptor(),
      createAuthnInterceptor({ authenticators: [broken], observer: (input) => reports.push(input) }),
      createAuthzInterceptor({
        authorizer: {
          ...fake.authorizer,
          check: (request, options) =>
            authorizerAnswersNothing
              ? Promise.resolve(undefined as unknown as Decision)
              : fake.authorizer.check(request, options),
        },
        rules: { [UPDATE]: authzRules[UPDATE] },
        missingRule: "allow",
        observer: (input) => reports.push(input),
        toUser: (actor) => {
          if (toUserThrows) throw new Error("directory lookup failed");
          return `user:${actor.id}`;
        },
      }),
    ]);
  });
  afterAll(() => server.close());
  beforeEach(() => {
    reports.length = 0;
    toUserThrows = false;
    authorizerAnswersNothing = false;
    server.seenScopes.length = 0;
  });

  const update = (metadata: Metadata) =>
    unary(
      server.client.updateProject.bind(server.client),
      { project: { id: "p-1", name: "n", ownerId: "" } },
      metadata,
      { deadline: Date.now() + 2000 },
    );

  // Before the fix: the rejected promise was unhandled (Node's default ends the process), the call hung
  // until its deadline (DEADLINE_EXCEEDED), and nothing was recorded.
  for (const how of ["async-undefined", "async-no-actor", "sync-undefined", "sync-no-actor"]) {
    it(`refuses an authenticator's ${how} answer as "error" (UNAVAILABLE), recorded, never hanging`, async () => {
      const metadata = new Metadata();
      metadata.set("x-broken", how);
      const [error] = await update(metadata);
      expect([error?.code, error?.details]).toStrictEqual([status.UNAVAILABLE, "authentication unavailable"]);
      expect(reports).toStrictEqual([
        {
          method: "x-user",
          success: false,
          failureReason: "error",
          result: { success: false, code: status.UNAVAILABLE },
        },
      ]);
      expect(server.seenScopes).toHaveLength(0);
    });
  }

  it("records a call refused because the authorizer answered no decision, with the status the client got", async () => {
    authorizerAnswersNothing = true;
    const metadata = new Metadata();
    metadata.set("x-user", "alice");
    const [error] = await update(metadata);
    expect([error?.code, error?.details]).toStrictEqual([status.UNAVAILABLE, "authorization unavailable"]);
    expect(reports[1]).toMatchObject({
      decision: "error",
      errorReason: "unavailable",
      result: { success: false, code: status.UNAVAILABLE },
    });
    expect(server.seenScopes).toHaveLength(0);
  });

  // Before the fix: the call was refused UNAVAILABLE with no authz event at all.
  it("records a call refused because toUser threw, with the status the client got", async () => {
    toUserThrows = true;
    const metadata = new Metadata();
    metadata.set("x-user", "alice");
    const [error] = await update(metadata);
    expect([error?.code, error?.details]).toStrictEqual([status.UNAVAILABLE, "authorization unavailable"]);
    expect(reports).toStrictEqual([
      { method: "x-user", success: true, actor: { id: "alice" } },
      {
        relation: "editor",
        objectType: "project",
        objectId: "p-1",
        decision: "error",
        errorReason: "to_user_failed",
        result: { success: false, code: status.UNAVAILABLE },
        storeId: "01JSTORE0000000000000000000",
        modelId: "01JMODEL0000000000000000000",
      },
    ]);
    expect(fake.state.checks).toHaveLength(0);
    expect(server.seenScopes).toHaveLength(0);
  });
});
