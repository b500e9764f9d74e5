// The full chain with the real @openfga/sdk client: grpc-js server → JWT authn → OpenFGA authorizer
// (decision cache) → handler, against the OpenFGA HTTP stand-in (no OpenFGA server can run here), and
// tuple writes through the audited writer invalidating cached decisions.
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import {
  type AuditEvent,
  AuthzDecision,
  EventType,
  TupleOperation,
} from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createAuditedTupleWriter } from "../../src/openfga/audited-tuple-writer.js";
import { createOpenFgaAuthorizer } from "../../src/openfga/openfga-authorizer.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { AUDIENCE, ISSUER, newSigningKey, signToken } from "../helpers/jwt.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

describe("authz with OpenFGA over real gRPC", () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  let standIn: OpenFgaStandIn;
  let server: ProjectServer;
  let writer: ReturnType<typeof createAuditedTupleWriter>;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    standIn = await startOpenFgaStandIn({
      tuples: [{ user: "user:alice", relation: "editor", object: "project:p-1" }],
    });
    const client = standInClient(standIn);
    const authorizer = createOpenFgaAuthorizer({ client, cache: { ttlMs: 60_000 } });
    writer = createAuditedTupleWriter({ client, recorder, authorizer });
    const key = await newSigningKey("k1");
    tokens.alice = await signToken(key, { sub: "alice" });
    tokens.bob = await signToken(key, { sub: "bob" });
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
        // Every check must be answered within it: a real HTTP request to the stand-in, the first on a new
        // connection, which took up to ~400 ms on a loaded machine (300 ms timed the first check out:
        // DEADLINE_EXCEEDED "authorization timed out"). The slow check below is held past it.
        authz: { authorizer, rules: authzRules, timeoutMs: 1000 },
      }),
    );
  });
  afterAll(async () => {
    await server.close();
    await standIn.close();
  });
  afterEach(() => {
    memory.clear();
    standIn.clearFaults();
  });

  const update = (user: string, id = "p-1") => {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${tokens[user]}`);
    return unary(
      server.client.updateProject.bind(server.client),
      { project: { id, name: "n", ownerId: "" } },
      metadata,
    );
  };

  async function decision(): Promise<{
    decision: AuthzDecision;
    cacheHit: boolean;
    errorReason: string;
    storeId: string;
    code: string;
  }> {
    await new Promise((resolve) => setTimeout(resolve, 30));
    const events: AuditEvent[] = memory.filter({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION });
    expect(events).toHaveLength(1);
    memory.clear();
    const [event] = events;
    if (event?.detail?.$case !== "authz") throw new Error("no authz event");
    const { decision: d, cacheHit, errorReason, storeId } = event.detail.value;
    return { decision: d, cacheHit, errorReason, storeId, code: event.result?.code ?? "" };
  }

  it("allows, then answers from the cache and marks the hit", async () => {
    expect((await update("alice"))[0]).toBeNull();
    expect(await decision()).toStrictEqual({
      decision: AuthzDecision.AUTHZ_DECISION_ALLOWED,
      cacheHit: false,
      errorReason: "",
      storeId: standIn.storeId,
      code: "OK",
    });
    const checksBefore = standIn.counts.check;
    expect((await update("alice"))[0]).toBeNull();
    expect((await decision()).cacheHit).toBe(true);
    expect(standIn.counts.check).toBe(checksBefore);
  });

  it("denies bob, and a tuple write through the audited writer lets him in on the next call", async () => {
    expect((await update("bob"))[0]?.code).toBe(status.PERMISSION_DENIED);
    expect((await decision()).decision).toBe(AuthzDecision.AUTHZ_DECISION_DENIED);
    expect((await update("bob"))[0]?.code).toBe(status.PERMISSION_DENIED);
    expect(await decision()).toMatchObject({ decision: AuthzDecision.AUTHZ_DECISION_DENIED, cacheHit: true });

    await writer.writeTuples([{ user: "user:bob", relation: "editor", object: "project:p-1" }]);
    const [change] = memory.filter({ eventType: EventType.EVENT_TYPE_TUPLE_CHANGED });
    expect(change?.detail).toStrictEqual({
      $case: "tupleChange",
      value: {
        tuples: [
          {
            operation: TupleOperation.TUPLE_OPERATION_WRITE,
            user: "user:bob",
            relation: "editor",
            object: "project:p-1",
            success: true,
            errorReason: "",
            condition: undefined,
          },
        ],
        storeId: standIn.storeId,
        modelId: standIn.modelId,
      },
    });
    memory.clear();

    expect((await update("bob"))[0]).toBeNull();
    expect(await decision()).toMatchObject({
      decision: AuthzDecision.AUTHZ_DECISION_ALLOWED,
      cacheHit: false,
    });
  });

  it("records ERROR (never DENIED) and answers UNAVAILABLE when OpenFGA returns 500", async () => {
    standIn.inject({ endpoint: "check", status: 500 });
    expect((await update("alice", "p-500"))[0]?.code).toBe(status.UNAVAILABLE);
    expect(await decision()).toMatchObject({
      decision: AuthzDecision.AUTHZ_DECISION_ERROR,
      errorReason: "unavailable",
      code: "UNAVAILABLE",
    });
  });

  it("records a timeout and answers DEADLINE_EXCEEDED when OpenFGA is too slow", async () => {
    standIn.inject({ endpoint: "check", latencyMs: 10_000 }); // far past timeoutMs
    expect((await update("alice", "p-slow"))[0]?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(await decision()).toMatchObject({
      decision: AuthzDecision.AUTHZ_DECISION_ERROR,
      errorReason: "timeout",
      code: "DEADLINE_EXCEEDED",
    });
  });

  it("records a failed tuple write as a failure and passes the SDK's error through", async () => {
    await expect(
      writer.writeTuples([{ user: "user:alice", relation: "editor", object: "project:p-1" }]),
    ).rejects.toThrow();
    const [change] = memory.filter({ eventType: EventType.EVENT_TYPE_TUPLE_CHANGED });
    expect(change?.result?.success).toBe(false);
    expect(
      change?.detail?.$case === "tupleChange" &&
        change.detail.value.tuples.map((t) => [t.success, t.errorReason]),
    ).toStrictEqual([[false, "write_failed_due_to_invalid_input"]]);
  });
});
