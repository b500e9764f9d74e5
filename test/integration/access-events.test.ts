// Reads audited: a rule with `event: "access"` makes the rules interceptor record a resource.access
// event with the lifecycle of a mutation (exactly once, never for a refused call, failed calls only
// with record_on_error, fail-closed), over real loopback gRPC for all four call kinds.
import { credentials, Metadata, Server, type ServerUnaryCall, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectServiceClient, ProjectServiceService } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { setAuditAttribute } from "../../src/context/scope.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { SCHEMA_VERSION } from "../../src/event/builders.js";
import { ActorType, type AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { AuditRule, RuleTable } from "../../src/rules/audit-rule.js";
import { withoutChainOne } from "../helpers/chain.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { jwtAuthenticatorFor, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";
import {
  AUTHZ_RULES_FROM_METADATA,
  CALL_KINDS,
  type CallKind,
  callOfKind,
  METHOD_OF_KIND,
  type ProjectServer,
  startProjectServer,
  unary,
} from "../helpers/project-server.js";
import { FIXED_TIME } from "../helpers/recorder.js";

const METHOD = METHOD_OF_KIND;
/** The target `callOfKind` makes each method's rule read (SyncMembers names member 7). */
const TARGET: Record<CallKind, { type: string; id: string }> = {
  unary: { type: "project", id: "p-1" },
  server_streaming: { type: "project", id: "p-1" },
  client_streaming: { type: "project", id: "p-1" },
  bidi_streaming: { type: "member", id: "7" },
};

/** The example's rules of the four methods, made access rules; `change` alters each. */
function accessRules(change: Partial<AuditRule> = {}): RuleTable {
  const example = auditRules as RuleTable;
  return Object.fromEntries(
    Object.values(METHOD).map((method) => [method, { ...example[method], event: "access", ...change }]),
  ) as RuleTable;
}

function metadataFor(requestId: string, token?: string): Metadata {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  metadata.set("x-project-id", "p-1");
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

describe("access rules over real gRPC, with authn and authz", () => {
  const memory = createMemoryEmitter();
  let nextId = 0;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => FIXED_TIME,
    newEventId: () => `evt-${++nextId}`,
  });
  const fake = createFakeAuthorizer(
    ["owner", "editor", "admin"].map((relation) => `user:alice|${relation}|project:p-1`),
  );
  const tokens: Record<string, string> = {};
  let key: SigningKey;
  let server: ProjectServer;

  beforeAll(async () => {
    key = await newSigningKey("k1", "ES256");
    tokens.alice = await signToken(key, { sub: "alice" });
    tokens.bob = await signToken(key, { sub: "bob" });
    server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: accessRules(),
        authn: { authenticators: [jwtAuthenticatorFor(key)] },
        authz: {
          authorizer: fake.authorizer,
          rules: AUTHZ_RULES_FROM_METADATA,
        },
      }),
    );
  });
  afterAll(() => server.close());

  /**
   * The events of one call, once the server has certainly seen it end: onCancel follows every call,
   * and has run once a later call on the same connection has been answered.
   */
  async function eventsOf(requestId: string): Promise<AuditEvent[]> {
    await unary(server.client.getProject.bind(server.client), { id: "p-1" }, metadataFor("probe"));
    return memory.filter((e) => e.requestId === requestId);
  }

  it.each(CALL_KINDS)("records one resource.access event for an allowed %s call", async (kind) => {
    const requestId = `read-${kind}`;
    const { code } = await callOfKind(server.client, kind, metadataFor(requestId, tokens.alice));
    expect(code).toBe(status.OK);
    const events = await eventsOf(requestId);
    expect(events.map((e) => e.eventType)).toStrictEqual([
      EventType.EVENT_TYPE_AUTHN_RESULT,
      EventType.EVENT_TYPE_AUTHZ_DECISION,
      EventType.EVENT_TYPE_RESOURCE_ACCESS,
    ]);
    const target = TARGET[kind];
    expect(withoutChainOne(events[2])).toStrictEqual({
      eventId: expect.stringMatching(/^evt-\d+$/),
      eventType: EventType.EVENT_TYPE_RESOURCE_ACCESS,
      schemaVersion: SCHEMA_VERSION,
      occurredAt: FIXED_TIME,
      service: "projects",
      operation: METHOD[kind],
      actor: expect.objectContaining({ id: "alice", type: ActorType.ACTOR_TYPE_USER }),
      target: { ...target, name: "" },
      result: { success: true, code: "OK", message: "" },
      traceId: "",
      spanId: "",
      requestId,
      peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      duration: { seconds: 0, nanos: expect.any(Number) },
      userAgent: expect.stringMatching(/^grpc-node-js\//),
      chain: undefined,
      payload: undefined,
      attributes: {},
      instance: "",
      detail: { $case: "resourceAccess", value: { resourceType: target.type, resourceId: target.id } },
    });
  });

  it.each(
    CALL_KINDS.flatMap((kind) => [
      { kind, who: "no token", token: undefined, code: status.UNAUTHENTICATED },
      { kind, who: "bob (denied)", token: "bob", code: status.PERMISSION_DENIED },
    ]),
  )("records no access for a $kind call refused to $who, only the refusal", async ({ kind, token, code }) => {
    const requestId = `refused-${kind}-${token ?? "none"}`;
    const sent = await callOfKind(
      server.client,
      kind,
      metadataFor(requestId, token === undefined ? undefined : tokens[token]),
    );
    expect(sent.code).toBe(code);
    const types = (await eventsOf(requestId)).map((e) => [e.eventType, e.result?.code]);
    const refusal =
      token === undefined
        ? [[EventType.EVENT_TYPE_AUTHN_RESULT, "UNAUTHENTICATED"]]
        : [
            [EventType.EVENT_TYPE_AUTHN_RESULT, "OK"],
            [EventType.EVENT_TYPE_AUTHZ_DECISION, "PERMISSION_DENIED"],
          ];
    expect(types).toStrictEqual(refusal);
  });
});

describe("access rules: failed calls and fail-closed", () => {
  /** A server with only the audit chain (no authn, no authz) and `rules`, recording into memory. */
  async function serve(rules: RuleTable, emit?: () => "failed") {
    const memory = createMemoryEmitter();
    const emitter = emit === undefined ? memory : { ...createNoopEmitter({ name: "down" }), emit };
    const recorder = createRecorder({ service: "projects", emitters: [emitter] });
    const server = await startProjectServer(
      createAuditInterceptors({ recorder, rules, ...(emit === undefined ? {} : { failMode: "closed" }) }),
    );
    return { memory, recorder, server };
  }

  /** ArchiveProject of "boom" sends one message, then fails with FAILED_PRECONDITION. */
  function failedRead(server: ProjectServer) {
    return callOfKind(server.client, "server_streaming", metadataFor("boom"), "boom");
  }

  it("records a failed read with its status when record_on_error is set", async () => {
    const { memory, server } = await serve(accessRules({ recordOnError: true }));
    try {
      expect((await failedRead(server)).code).toBe(status.FAILED_PRECONDITION);
      const [event] = await memory.waitForCount(1);
      expect([event?.eventType, event?.target, event?.result]).toStrictEqual([
        EventType.EVENT_TYPE_RESOURCE_ACCESS,
        { type: "project", id: "boom", name: "" },
        { success: false, code: "FAILED_PRECONDITION", message: "project is locked" },
      ]);
    } finally {
      await server.close();
    }
    expect(memory.events).toHaveLength(1); // also after onCancel of every call has run
  });

  it("records no failed read when record_on_error is not set", async () => {
    const { memory, recorder, server } = await serve(accessRules({ recordOnError: false }));
    try {
      expect((await failedRead(server)).code).toBe(status.FAILED_PRECONDITION);
      expect((await callOfKind(server.client, "unary", metadataFor("ok"))).code).toBe(status.OK);
      await memory.waitForCount(1);
    } finally {
      await server.close();
    }
    expect(memory.events.map((e) => [e.eventType, e.requestId])).toStrictEqual([
      [EventType.EVENT_TYPE_RESOURCE_ACCESS, "ok"],
    ]);
    expect(recorder.stats().recorded["resource.access"]).toBe(1);
  });

  it.each(CALL_KINDS)("fail-closed: a %s read whose event is not accepted ends UNAVAILABLE", async (kind) => {
    const { server } = await serve(accessRules(), () => "failed");
    try {
      const { code } = await callOfKind(server.client, kind, metadataFor(`closed-${kind}`));
      expect(code).toBe(status.UNAVAILABLE);
    } finally {
      await server.close();
    }
  });
});

describe("attributes a handler attaches to its call, over real gRPC", () => {
  it("lands in the call's access event, redacted, and the handler learns what was kept", async () => {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({
      service: "projects",
      emitters: [memory],
      redactPatterns: [/password=\S+/],
    });
    const kept: boolean[] = [];
    const server = new Server({ interceptors: createAuditInterceptors({ recorder, rules: accessRules() }) });
    // Only DeleteProject is served: grpc-js answers the others UNIMPLEMENTED.
    server.addService(ProjectServiceService, {
      deleteProject(
        _call: ServerUnaryCall<{ id: string }, object>,
        callback: (error: null, response: object) => void,
      ) {
        kept.push(setAuditAttribute("tenant", "acme"));
        setTimeout(() => {
          // Later in the handler, in a timer, the scope is still the call's.
          kept.push(setAuditAttribute("why", "support asked, password=hunter2"));
          kept.push(setAuditAttribute("bad key", "dropped"));
          callback(null, {});
        }, 1);
      },
    } as never);
    const port = await listenOnLoopback(server);
    const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      expect((await callOfKind(client, "unary", metadataFor("with-attributes"))).code).toBe(status.OK);
      const [event] = await memory.waitForCount(1);
      expect([event?.eventType, event?.attributes]).toStrictEqual([
        EventType.EVENT_TYPE_RESOURCE_ACCESS,
        { tenant: "acme", why: "support asked, [redacted]" },
      ]);
      expect(kept).toStrictEqual([true, true, false]);
    } finally {
      client.close();
      await stopServer(server);
    }
  });
});
