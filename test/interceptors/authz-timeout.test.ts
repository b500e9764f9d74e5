// The authz interceptor's `timeoutMs`, over real loopback gRPC.
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import type { AuthzDecisionInput } from "../../src/authz/observer.js";
import { authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { createAuditScopeInterceptor } from "../../src/interceptors/audit-scope-interceptor.js";
import { createAuthnInterceptor } from "../../src/interceptors/authn-interceptor.js";
import { createAuthzInterceptor } from "../../src/interceptors/authz-interceptor.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

const UPDATE = "/example.v1.ProjectService/UpdateProject";

const headerAuthenticator: Authenticator = {
  method: "x-user",
  authenticate(metadata) {
    const [user] = metadata.get("x-user");
    return user === undefined ? { kind: "absent" } : { kind: "authenticated", actor: { id: String(user) } };
  },
};

describe("authz timeoutMs as long as a Node timer holds", () => {
  const reports: AuthzDecisionInput[] = [];
  const fake = createFakeAuthorizer(["user:alice|editor|project:p-1"]);
  let server: ProjectServer;

  beforeAll(async () => {
    server = await startProjectServer([
      createAuditScopeInterceptor(),
      createAuthnInterceptor({ authenticators: [headerAuthenticator] }),
      createAuthzInterceptor({
        authorizer: {
          ...fake.authorizer,
          // Answers a few ms late: a timer past 2^31 - 1 ms would fire after 1 ms, before this answer.
          check: async (request, options) => {
            await new Promise((resolve) => setTimeout(resolve, 20));
            return fake.authorizer.check(request, options);
          },
        },
        rules: { [UPDATE]: authzRules[UPDATE] },
        timeoutMs: 2 ** 31 - 1,
        observer: (input) => reports.push(input),
      }),
    ]);
  });
  afterAll(() => server.close());

  it("waits for the answer instead of timing out at once", async () => {
    const metadata = new Metadata();
    metadata.set("x-user", "alice");
    const [error] = await unary(
      server.client.updateProject.bind(server.client),
      { project: { id: "p-1", name: "n", ownerId: "" } },
      metadata,
    );
    expect(error).toBeNull();
    expect(reports).toStrictEqual([
      {
        relation: "editor",
        objectType: "project",
        objectId: "p-1",
        storeId: fake.authorizer.storeId,
        modelId: fake.authorizer.modelId,
        user: "user:alice",
        decision: "allowed",
        cacheHit: false,
        result: { success: true, code: status.OK },
      },
    ]);
  });
});

describe("authz timeoutMs beyond what a Node timer holds", () => {
  // Node fires such a timer after 1 ms: every check would time out at once.
  it("is refused at creation, naming the option and the limit", () => {
    const create = () =>
      createAuthzInterceptor({
        authorizer: createFakeAuthorizer([]).authorizer,
        rules: {},
        timeoutMs: 2 ** 31,
      });
    expect(create).toThrow(
      new AuditConfigError(
        "authz interceptor: `timeoutMs` must be an integer of ms from 1 to 2147483647 (what a timer holds), got 2147483648",
      ),
    );
  });
});
