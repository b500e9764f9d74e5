// An authz table generated from an older proto, where a method took one request and read its object id
// from it, while the server now streams that method's requests: the handler would start before the
// message the id is in, so the check would come after it ran. Refused at the metadata instead.
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import type { AuthzDecisionInput } from "../../src/authz/observer.js";
import { createAuditScopeInterceptor } from "../../src/interceptors/audit-scope-interceptor.js";
import { createAuthnInterceptor } from "../../src/interceptors/authn-interceptor.js";
import { createAuthzInterceptor } from "../../src/interceptors/authz-interceptor.js";
import type { AuthzRule } from "../../src/rules/authz-rule.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import {
  callOfKind,
  METHOD_OF_KIND,
  type ProjectServer,
  startProjectServer,
} from "../helpers/project-server.js";

const byHeader: Authenticator = {
  method: "x-user",
  authenticate(metadata) {
    const [user] = metadata.get("x-user");
    return user === undefined ? { kind: "absent" } : { kind: "authenticated", actor: { id: String(user) } };
  },
};

/** ImportMembers as an older proto had it: unary, the project id read from the request. */
const staleRule: AuthzRule = {
  method: METHOD_OF_KIND.client_streaming,
  kind: "unary",
  public: false,
  relation: "editor",
  objectType: "project",
  objectIdSource: "req.project_id",
  objectId: (request) => (request as { projectId?: string } | undefined)?.projectId ?? "",
};

const reports: AuthzDecisionInput[] = [];
const fake = createFakeAuthorizer(["user:alice|editor|project:p-1"]);
let server: ProjectServer;

beforeAll(async () => {
  server = await startProjectServer([
    createAuditScopeInterceptor(),
    createAuthnInterceptor({ authenticators: [byHeader] }),
    createAuthzInterceptor({
      authorizer: fake.authorizer,
      rules: { [staleRule.method]: staleRule },
      observer: (input) => reports.push(input),
    }),
  ]);
});
afterAll(() => server.close());

it("refuses the call before its handler runs, and records why", async () => {
  const metadata = new Metadata();
  metadata.set("x-user", "alice");
  const seen = await callOfKind(server.client, "client_streaming", metadata);
  expect(seen.code).toBe(status.INTERNAL);
  expect(server.seenScopes).toStrictEqual([]);
  expect(reports).toStrictEqual([
    {
      relation: "editor",
      objectType: "project",
      objectId: "",
      decision: "error",
      errorReason: "rule_mismatch",
      result: { success: false, code: status.INTERNAL },
      storeId: fake.authorizer.storeId,
      modelId: fake.authorizer.modelId,
    },
  ]);
});
