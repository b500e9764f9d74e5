// Events carry the caller's user agent: what a real grpc-js client sends in `user-agent` reaches every
// event recorded inside its call (authn, authz, the handler's mutation), refused calls included.
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectServiceClient } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer } from "../helpers/project-server.js";

describe("the caller's user agent in its events, over real gRPC", () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const fake = createFakeAuthorizer(["user:alice|owner|project:p-1"]);
  let server: ProjectServer;
  let token: string;

  beforeAll(async () => {
    const key = await newSigningKey("k1", "ES256");
    token = await signToken(key, { sub: "alice" });
    server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [jwtAuthenticatorFor(key)] },
        authz: { authorizer: fake.authorizer, rules: authzRules },
      }),
    );
  });
  afterAll(() => server.close());

  /** Deletes project p-1 through `client`, as alice when `authorized`, and waits for `events` events. */
  async function deleteProject(client: ProjectServiceClient, authorized: boolean, events: number) {
    memory.clear();
    const metadata = new Metadata();
    if (authorized) metadata.set("authorization", `Bearer ${token}`);
    const code = await new Promise<status>((resolve) =>
      client.deleteProject({ id: "p-1" }, metadata, (error: ServiceError | null) =>
        resolve(error?.code ?? status.OK),
      ),
    );
    return { code, events: await memory.waitForCount(events) };
  }

  it("every event of an answered call has the grpc-js client's user agent", async () => {
    const { code, events } = await deleteProject(server.client, true, 3);
    expect(code).toBe(status.OK);
    expect(events.map((event) => event.detail?.$case)).toStrictEqual(["authn", "authz", "resourceMutation"]);
    const agents = events.map((event) => event.userAgent);
    expect(agents[0]).toMatch(/^grpc-node-js\/\d+\.\d+\.\d+/);
    expect(agents).toStrictEqual([agents[0], agents[0], agents[0]]);
  });

  it("a call refused by authn records the user agent too, as the client set it", async () => {
    // grpc-js puts a primary user agent before its own.
    const client = new ProjectServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure(), {
      "grpc.primary_user_agent": "acme-console/3.1",
    });
    try {
      const { code, events } = await deleteProject(client, false, 1);
      expect(code).toBe(status.UNAUTHENTICATED);
      expect(events.map((event) => [event.detail?.$case, event.result?.code])).toStrictEqual([
        ["authn", "UNAUTHENTICATED"],
      ]);
      expect(events[0]?.userAgent).toMatch(/^acme-console\/3\.1 grpc-node-js\/\d+\.\d+\.\d+/);
    } finally {
      client.close();
    }
  });
});
