// What toUser returns is what the authz interceptor checks and sends, over real loopback gRPC: a
// toUser that maps an actor id OpenFGA would refuse to a valid user is asked, and a toUser result
// OpenFGA must not see (the wildcard, a userset, whitespace, too long) is refused without asking.
import { createHash } from "node:crypto";
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import type { AuthzDecisionInput } from "../../src/authz/observer.js";
import { authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import type { Actor } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditScopeInterceptor } from "../../src/interceptors/audit-scope-interceptor.js";
import { createAuthnInterceptor } from "../../src/interceptors/authn-interceptor.js";
import { createAuthzInterceptor } from "../../src/interceptors/authz-interceptor.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

const UPDATE = "/example.v1.ProjectService/UpdateProject";
const ISSUER = "https://id.example.test/";
const hashed = (id: string) => `user:${createHash("sha256").update(id).digest("hex").slice(0, 32)}`;

/** `x-user: <id>` authenticates as <id>, `x-email` adds an email, URI-encoded (as a JWT's claims would). */
const byHeader: Authenticator = {
  method: "x-user",
  authenticate(metadata) {
    const [user] = metadata.get("x-user");
    const [email] = metadata.get("x-email");
    if (user === undefined) return { kind: "absent" };
    const actor = {
      id: String(user),
      ...(email === undefined ? {} : { email: decodeURIComponent(String(email)) }),
    };
    return { kind: "authenticated", actor };
  },
};

describe("the authz interceptor checks what toUser returns", () => {
  const reports: AuthzDecisionInput[] = [];
  const fake = createFakeAuthorizer([
    `${hashed(`${ISSUER}|alice`)}|editor|project:p-1`,
    "user:*|editor|project:p-1",
  ]);
  let toUser: (actor: Actor) => unknown = (actor) => hashed(actor.id);
  let server: ProjectServer;

  beforeAll(async () => {
    server = await startProjectServer([
      createAuditScopeInterceptor(),
      createAuthnInterceptor({ authenticators: [byHeader] }),
      createAuthzInterceptor({
        authorizer: fake.authorizer,
        rules: { [UPDATE]: authzRules[UPDATE] },
        missingRule: "allow",
        observer: (input) => reports.push(input),
        toUser: (actor) => toUser(actor) as string,
      }),
    ]);
  });
  afterAll(() => server.close());
  beforeEach(() => {
    reports.length = 0;
    fake.state.checks.length = 0;
    fake.state.cache = "off";
  });

  const update = (user: string, email?: string) => {
    const metadata = new Metadata();
    metadata.set("x-user", user);
    if (email !== undefined) metadata.set("x-email", encodeURIComponent(email));
    return unary(
      server.client.updateProject.bind(server.client),
      { project: { id: "p-1", name: "n", ownerId: "" } },
      metadata,
      { deadline: Date.now() + 2000 },
    );
  };

  // Before the fix: refused INVALID_ARGUMENT subject_id_invalid, because the actor id holds ":".
  it("asks the authorizer with a valid toUser result, whatever the actor id holds", async () => {
    toUser = (actor) => hashed(actor.id);
    const [error] = await update(`${ISSUER}|alice`);
    expect(error).toBeNull();
    expect(fake.state.checks.map((check) => check.user)).toStrictEqual([hashed(`${ISSUER}|alice`)]);
    expect(reports.map((r) => [r.decision, r.errorReason, r.result?.code])).toStrictEqual([
      ["allowed", undefined, status.OK],
    ]);
  });

  // Before the fix: each was sent as it was (`user:*` was ALLOWED by the wildcard tuple).
  const invalid: [string, string][] = [
    ["the wildcard", "*"],
    ["whitespace", "bob @x"],
    ["a control character", "a\u0001b"],
    ["a userset", "team:core#member"],
    ["too long", "x".repeat(600)],
  ];
  for (const [what, email] of invalid) {
    it(`refuses a toUser result with ${what} as INVALID_ARGUMENT subject_id_invalid, never sent`, async () => {
      toUser = (actor) => `user:${actor.email ?? actor.id}`;
      const [error] = await update("mallory", email);
      expect([error?.code, error?.details]).toStrictEqual([
        status.INVALID_ARGUMENT,
        "invalid argument: caller id not valid",
      ]);
      expect(fake.state.checks).toHaveLength(0);
      expect(reports.map((r) => [r.decision, r.errorReason, r.result?.code])).toStrictEqual([
        ["error", "subject_id_invalid", status.INVALID_ARGUMENT],
      ]);
    });
  }

  for (const [what, user] of [
    ["no type", "alice"],
    ["an empty type", ":alice"],
    ["an @ in the type", "us@er:alice"],
    ["a space in the type", "us er:alice"],
    ["an empty id", "user:"],
  ]) {
    it(`refuses a toUser result with ${what} as subject_id_invalid`, async () => {
      toUser = () => user;
      const [error] = await update("alice");
      expect(error?.code).toBe(status.INVALID_ARGUMENT);
      expect(fake.state.checks).toHaveLength(0);
      expect(reports.map((r) => r.errorReason)).toStrictEqual(["subject_id_invalid"]);
    });
  }

  it("still refuses an actor id the default toUser cannot make a user of", async () => {
    toUser = (actor) => `user:${actor.id}`;
    for (const id of ["*", `${ISSUER}|alice`]) {
      const [error] = await update(id);
      expect(error?.code).toBe(status.INVALID_ARGUMENT);
    }
    expect(fake.state.checks).toHaveLength(0);
    expect(reports.map((r) => r.errorReason)).toStrictEqual(["subject_id_invalid", "subject_id_invalid"]);
  });

  // Before the fix: recorded as "unavailable", which reads as an OpenFGA outage.
  it("records a throwing toUser, or one that returns no string, as to_user_failed", async () => {
    for (const broken of [
      () => {
        throw new Error("directory lookup failed");
      },
      () => undefined,
    ]) {
      toUser = broken;
      const [error] = await update("alice");
      expect([error?.code, error?.details]).toStrictEqual([status.UNAVAILABLE, "authorization unavailable"]);
    }
    expect(fake.state.checks).toHaveLength(0);
    expect(reports.map((r) => [r.decision, r.errorReason, r.result?.code])).toStrictEqual([
      ["error", "to_user_failed", status.UNAVAILABLE],
      ["error", "to_user_failed", status.UNAVAILABLE],
    ]);
  });

  it("records a throwing cache lookup as cache_failed", async () => {
    toUser = (actor) => `user:${actor.id}`;
    fake.state.cache = "throw";
    const [error] = await update("alice");
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect(reports.map((r) => r.errorReason)).toStrictEqual(["cache_failed"]);
  });
});
