import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { runInAuditScope } from "../../src/context/scope.js";
import {
  ActorType,
  type AuditEvent,
  AuthzDecision,
  createAuditInterceptors,
  createDeliveryEmitter,
  createJwtAuthenticator,
  createLogEmitter,
  createRecorder,
  EventType,
  eventFromJson,
  MutationType,
} from "../../src/index.js";
import { openAuditStore } from "../../src/store/index.js";
import { createMemoryEmitter } from "../../src/testing/index.js";
import { withoutChain } from "../helpers/chain.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { AUDIENCE, ISSUER, newSigningKey, signToken } from "../helpers/jwt.js";
import { startProjectServer, unary } from "../helpers/project-server.js";
import { fixedScope } from "../helpers/recorder.js";

const TIME = new Date("2026-11-23T10:00:00.000Z");

/** A Recorder writing to a memory emitter, a log file and a SQLite store (through the delivery pipeline). */
function recorderWithRealSinks() {
  const dir = mkdtempSync(join(tmpdir(), "grpc-audit-size-"));
  const logPath = join(dir, "audit.ndjson");
  const storePath = join(dir, "audit.db");
  const memory = createMemoryEmitter();
  const store = createDeliveryEmitter({ sink: openAuditStore({ path: storePath }).sink() });
  const errors: Error[] = [];
  let next = 0;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory, createLogEmitter({ destination: logPath }), store],
    statusMessages: "record", // the cap every event's message has (the default policy keeps 256 bytes)
    now: () => TIME,
    newEventId: () => `evt-${++next}`,
    onError: (error) => errors.push(error),
  });
  /** Closes the Recorder, then reads back what each sink holds. */
  async function received() {
    const report = await recorder.close();
    const logged = readFileSync(logPath, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => eventFromJson(JSON.parse(line).audit));
    const reader = openAuditStore({ path: storePath, readonly: true });
    const stored = reader.query({}).events.reverse(); // newest first
    reader.close();
    return { report, memory: [...memory.events], logged, stored };
  }
  return { recorder, errors, received };
}

describe("oversized text fields", () => {
  it("a denial with a 1.5 MB object id and user agent and a mutation with a 1.5 MB id and 1 MiB message reach every sink, cut", async () => {
    const { recorder, errors, received } = recorderWithRealSinks();
    const actor = { id: "alice", type: "user" } as const;
    const denial = recorder.recordAuthzDecision({
      relation: "viewer",
      objectType: "project",
      objectId: "o".repeat(1_500_000),
      decision: "denied",
      actor,
      operation: "/example.v1.ProjectService/GetProject",
      userAgent: "u".repeat(1_500_000),
    });
    const mutation = recorder.recordResourceMutation({
      mutation: "delete",
      resourceType: "project",
      resourceId: "r".repeat(1_500_000),
      // 2-byte characters: 1 MiB of UTF-8, of which 1024 bytes (512 characters) are kept.
      result: { success: false, code: "INTERNAL", message: "é".repeat(524_288) },
      actor,
      operation: "/example.v1.ProjectService/DeleteProject",
    });
    expect([denial, mutation]).toStrictEqual(["accepted", "accepted"]);

    const objectId = `${"o".repeat(256)}…[truncated 1499744 bytes]`;
    const resourceId = `${"r".repeat(256)}…[truncated 1499744 bytes]`;
    const common = {
      schemaVersion: 2,
      occurredAt: TIME,
      service: "projects",
      actor: {
        id: "alice",
        type: ActorType.ACTOR_TYPE_USER,
        displayName: "",
        email: "",
        subject: "",
        clientId: "",
        realm: "",
      },
      traceId: "",
      spanId: "",
      requestId: "",
      peer: "",
      duration: undefined,
      userAgent: "",
      chain: undefined,
      payload: undefined,
      attributes: {},
      instance: "",
    };
    const expected: AuditEvent[] = [
      {
        ...common,
        eventId: "evt-1",
        eventType: EventType.EVENT_TYPE_AUTHZ_DECISION,
        operation: "/example.v1.ProjectService/GetProject",
        userAgent: `${"u".repeat(256)}…[truncated 1499744 bytes]`,
        target: { type: "project", id: objectId, name: "" },
        result: { success: false, code: "PERMISSION_DENIED", message: "" },
        detail: {
          $case: "authz",
          value: {
            relation: "viewer",
            objectType: "project",
            objectId,
            decision: AuthzDecision.AUTHZ_DECISION_DENIED,
            cacheHit: false,
            errorReason: "",
            storeId: "",
            modelId: "",
            user: "",
          },
        },
      },
      {
        ...common,
        eventId: "evt-2",
        eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION,
        operation: "/example.v1.ProjectService/DeleteProject",
        target: { type: "project", id: resourceId, name: "" },
        result: { success: false, code: "INTERNAL", message: `${"é".repeat(512)}…[truncated 1047552 bytes]` },
        detail: {
          $case: "resourceMutation",
          value: { mutation: MutationType.MUTATION_TYPE_DELETE, resourceType: "project", resourceId },
        },
      },
    ];
    const { report, memory, logged, stored } = await received();
    expect(report.ok).toBe(true);
    expect(errors).toStrictEqual([]);
    expect(withoutChain(memory)).toStrictEqual(expected);
    expect(withoutChain(logged)).toStrictEqual(expected);
    expect(withoutChain(stored)).toStrictEqual(expected);
    expect(recorder.stats()).toMatchObject({ accepted: 2, dropped: 0, failed: 0, invalid: 0 });
  });

  it("a refusal over real gRPC of a DeleteProject with a 1.5 MB project id (too long for OpenFGA) reaches every sink, cut", async () => {
    const { recorder, received } = recorderWithRealSinks();
    const key = await newSigningKey("k1", "ES256");
    const jwt = createJwtAuthenticator({
      jwks: key.jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["ES256"],
    });
    const { authorizer } = createFakeAuthorizer([]);
    const server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [jwt] },
        authz: { authorizer, rules: authzRules },
      }),
    );
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${await signToken(key, { sub: "bob" })}`);
    const [error] = await unary(
      server.client.deleteProject.bind(server.client),
      { id: "p".repeat(1_500_000) },
      metadata,
    );
    await server.close();
    expect(error?.code).toBe(status.INVALID_ARGUMENT); // never sent to the authorizer

    const objectId = `${"p".repeat(256)}…[truncated 1499744 bytes]`;
    const { report, memory, logged, stored } = await received();
    expect(report.ok).toBe(true);
    for (const events of [memory, logged, stored]) {
      const denials = events.filter((event) => event.detail?.$case === "authz");
      expect(
        denials.map((event) => [
          event.target?.id,
          event.detail?.$case === "authz" && event.detail.value.objectId,
        ]),
      ).toStrictEqual([[objectId, objectId]]);
      expect(denials[0]?.result?.code).toBe("INVALID_ARGUMENT");
    }
    expect(recorder.stats()).toMatchObject({ dropped: 0, failed: 0, invalid: 0 });
  });

  it("cuts oversized claims of the scope's actor and its user agent in the event, leaving the scope whole", () => {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "projects", emitters: [memory] });
    const claim = "c".repeat(300_000);
    const actor = {
      id: claim,
      type: ActorType.ACTOR_TYPE_USER,
      displayName: claim,
      email: "",
      subject: "",
      clientId: claim,
      realm: "",
    };
    const scope = fixedScope({ actor, userAgent: claim });
    runInAuditScope(scope, () =>
      recorder.recordResourceMutation({ mutation: "create", resourceType: "project", resourceId: "p-1" }),
    );
    const cut = `${"c".repeat(256)}…[truncated 299744 bytes]`;
    expect(memory.events[0]?.actor).toStrictEqual({ ...actor, id: cut, displayName: cut, clientId: cut });
    expect(memory.events[0]?.userAgent).toBe(cut);
    expect(scope.userAgent).toBe(claim);
    expect(scope.actor).toBe(actor);
    expect(actor.id).toBe(claim);
  });
});
