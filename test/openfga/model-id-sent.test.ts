// The authorization model id an authz event names is the one its check sent, also when the application
// pins the model on its client after creating the authorizer (the usual startup pin, after
// `readLatestAuthorizationModel`), and `batchCheck` sends the same model as `check`. Over real gRPC
// (grpc-js server → JWT authn → OpenFGA authorizer) with the real @openfga/sdk client, against the
// loopback OpenFGA HTTP stand-in (no OpenFGA server can run here), which logs every request body.
import { Metadata } from "@grpc/grpc-js";
import type { OpenFgaClient } from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import type { CheckRequest } from "../../src/authz/authorizer.js";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { AUDIENCE, ISSUER, newSigningKey, signToken } from "../helpers/jwt.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

const ALICE_EDITS_P1: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-1" };

let standIn: OpenFgaStandIn;
let server: ProjectServer | undefined;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1] });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await standIn.close();
});

/** The `authorization_model_id` of the stand-in's requests to `endpoint`, in order ("" for none). */
function modelsSent(endpoint: "check" | "batch-check"): string[] {
  return standIn.requests
    .filter((request) => request.endpoint === endpoint)
    .map((request) =>
      String((request.body as { authorization_model_id?: unknown }).authorization_model_id ?? ""),
    );
}

/** Runs one UpdateProject call as alice through the audit chain; the model id of its authz event. */
async function modelIdOfAuthzEvent(client: OpenFgaClient, pinAfterStart?: string): Promise<string> {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const authorizer = createOpenFgaAuthorizer({ client });
  const key = await newSigningKey("k1");
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
      authn: { authenticators: [jwt] },
      authz: { authorizer, rules: authzRules, timeoutMs: 5000 },
    }),
  );
  if (pinAfterStart !== undefined) client.authorizationModelId = pinAfterStart;
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${await signToken(key, { sub: "alice" })}`);
  const [error] = await unary(
    server.client.updateProject.bind(server.client),
    { project: { id: "p-1", name: "n", ownerId: "" } },
    metadata,
  );
  expect(error).toBeNull();
  const authz = () => memory.filter({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION });
  await expect.poll(() => authz().length).toBe(1);
  const detail = authz()[0]?.detail;
  expect(detail?.$case).toBe("authz");
  return detail?.$case === "authz" ? detail.value.modelId : "(none)";
}

describe("the model id on authz events is the one the check sent", () => {
  it("when the client's model is pinned after the chain was created", async () => {
    const client = standInClient(standIn, { authorizationModelId: "" });
    const modelId = await modelIdOfAuthzEvent(client, standIn.modelId);
    expect(modelsSent("check")).toStrictEqual([modelId]);
    // Read when the authorizer was created: none, so OpenFGA used the store's latest model.
    expect(modelId).toBe("");
  });

  it("when the client names its model from the start", async () => {
    const modelId = await modelIdOfAuthzEvent(standInClient(standIn));
    expect(modelId).toBe(standIn.modelId);
    expect(modelsSent("check")).toStrictEqual([standIn.modelId]);
  });
});

describe("batchCheck sends the model check sends", () => {
  for (const [what, atStart] of [
    ["a client without a model, pinned later", ""],
    ["a client with its model", "model"],
  ] as const) {
    it(`for ${what}`, async () => {
      const client = standInClient(standIn, {
        authorizationModelId: atStart === "model" ? standIn.modelId : "",
      });
      const authorizer = createOpenFgaAuthorizer({ client });
      client.authorizationModelId = standIn.modelId;
      expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual({ kind: "allowed", cacheHit: false });
      expect(await authorizer.batchCheck([ALICE_EDITS_P1])).toStrictEqual([
        { kind: "allowed", cacheHit: false },
      ]);
      const expected = atStart === "model" ? standIn.modelId : "";
      expect([modelsSent("check"), modelsSent("batch-check")]).toStrictEqual([[expected], [expected]]);
      expect(authorizer.modelId ?? "").toBe(expected);
    });
  }
});
