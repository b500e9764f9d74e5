// An Authorization value of another scheme (ApiKey, Basic) is not the JWT authenticator's: the next
// authenticator decides it, and with none it is a call without a credential. Real gRPC over loopback.
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { ActorType, AuthnFailureReason, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { jwtAuthenticatorFor, newSigningKey } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

/** `Authorization: ApiKey <key>`, as an application's own authenticator would read it. */
const apiKey: Authenticator = {
  method: "api_key",
  authenticate(metadata) {
    const [value] = metadata.get("authorization");
    if (typeof value !== "string" || !/^ApiKey /i.test(value)) return { kind: "absent" };
    return value === "ApiKey good-key"
      ? { kind: "authenticated", actor: { id: "ci-bot", type: "service" } }
      : { kind: "refused", reason: "bad_signature" };
  },
};

function withAuthorization(value: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", value);
  return metadata;
}

describe("an Authorization value of another scheme than Bearer", () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const servers: ProjectServer[] = [];

  beforeAll(async () => {
    const jwt = jwtAuthenticatorFor(await newSigningKey("k1"));
    for (const authenticators of [[jwt, apiKey], [jwt]]) {
      servers.push(
        await startProjectServer(
          createAuditInterceptors({
            recorder,
            rules: auditRules,
            authn: { authenticators, allowAnonymous: ["/example.v1.ProjectService/GetProject"] },
          }),
        ),
      );
    }
  });
  afterAll(() => Promise.all(servers.map((server) => server.close())));
  afterEach(() => memory.clear());

  const create = (server: ProjectServer | undefined, metadata: Metadata) =>
    unary((server as ProjectServer).client.createProject.bind(server?.client), { name: "apollo" }, metadata);

  // Before the fix: refused UNAUTHENTICATED "malformed" by the JWT authenticator; api_key never ran.
  it("reaches the authenticator of its scheme after the JWT one", async () => {
    const [error, project] = await create(servers[0], withAuthorization("ApiKey good-key"));
    expect(error).toBeNull();
    expect(project?.ownerId).toBe("ci-bot");
    const [authn] = await memory.waitForCount(2);
    expect([authn?.eventType, authn?.actor?.id, authn?.actor?.type]).toStrictEqual([
      EventType.EVENT_TYPE_AUTHN_RESULT,
      "ci-bot",
      ActorType.ACTOR_TYPE_SERVICE,
    ]);
  });

  it("is refused as missing where no authenticator takes it and the method needs a caller", async () => {
    const [error] = await create(servers[1], withAuthorization("Basic YWxpY2U6cHc="));
    expect([error?.code, error?.details]).toStrictEqual([status.UNAUTHENTICATED, "unauthenticated: missing"]);
    const [authn] = await memory.waitForCount(1);
    expect(authn?.detail?.$case === "authn" && authn.detail.value.failureReason).toBe(
      AuthnFailureReason.AUTHN_FAILURE_REASON_MISSING,
    );
  });

  it("still refuses a Bearer value that is no JWT as malformed", async () => {
    const [error] = await create(servers[0], withAuthorization("Bearer not a jwt"));
    expect([error?.code, error?.details]).toStrictEqual([
      status.UNAUTHENTICATED,
      "unauthenticated: malformed",
    ]);
  });
});
