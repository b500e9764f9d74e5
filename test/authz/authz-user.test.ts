// The authz.decision event names the OpenFGA user that was checked, as the authz interceptor's toUser
// gave it, over real loopback gRPC: for an allow, a deny, an engine error, a cached decision and a
// refused (invalid) toUser result; not for the refusals made before a user was resolved. The
// authorizer is the in-process fake (test/helpers/fake-authorizer.ts): these tests are about what the
// interceptor reports, not about OpenFGA.
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { eventCells } from "../../src/cli/format.js";
import { decodeEvent, encodeEvent, eventToJson } from "../../src/event/serialize.js";
import {
  ActorType,
  type AuditEvent,
  AuthzDecision,
  type AuthzDetail,
  EventType,
} from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";
import { FIXED_TIME, fixedRecorder } from "../helpers/recorder.js";

const UPDATE = "/example.v1.ProjectService/UpdateProject";
// The viewer's own module, as the page loads it (plain JavaScript without types: imported by URL).
const viewer = (await import(new URL("../../src/ui/static/format.js", import.meta.url).href)) as {
  summaryOf: (json: unknown) => unknown;
};
const STORE = "01JSTORE0000000000000000000";
const MODEL = "01JMODEL0000000000000000000";

/** `x-user: <id>` authenticates as <id>; no header is no credential. */
const byHeader: Authenticator = {
  method: "x-user",
  authenticate(metadata) {
    const [user] = metadata.get("x-user");
    if (user === undefined) return { kind: "absent" };
    return { kind: "authenticated", actor: { id: String(user) } };
  },
};

describe("authz.decision names the OpenFGA user checked", () => {
  const { recorder, memory } = fixedRecorder({ chain: false });
  // A toUser that maps, as a deployment with service accounts does: the actor id alone does not say it.
  const mapped = (id: string) => (id.startsWith("svc-") ? `service:${id.slice(4)}` : `employee:${id}`);
  let toUser: (id: string) => string = mapped;
  const fake = createFakeAuthorizer([
    "employee:alice|editor|project:p-1",
    "service:billing|editor|project:p-1",
  ]);
  let server: ProjectServer;

  beforeAll(async () => {
    server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        // UpdateProject admits anonymous callers at the authn layer, so authz refuses them itself.
        authn: { authenticators: [byHeader], allowAnonymous: [UPDATE] },
        authz: { authorizer: fake.authorizer, rules: authzRules, toUser: (actor) => toUser(actor.id) },
      }),
    );
  });
  afterAll(() => server.close());
  afterEach(() => {
    memory.clear();
    toUser = mapped;
    fake.state.mode = "normal";
    fake.state.cache = "off";
    fake.state.checks.length = 0;
  });

  /** UpdateProject of `id` as `who` (anonymous when undefined), with request id `requestId`. */
  function update(requestId: string, who: string | undefined, id = "p-1") {
    const metadata = new Metadata();
    metadata.set("x-request-id", requestId);
    if (who !== undefined) metadata.set("x-user", who);
    return unary(
      server.client.updateProject.bind(server.client),
      { project: { id, name: "n", ownerId: "" } },
      metadata,
    );
  }

  /** The authz.decision event of the call with `requestId` (waits for it; the bound only fails the test). */
  const authzEvent = (requestId: string) =>
    memory.waitFor({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION, requestId });

  /** The authz detail of an UpdateProject check of project p-1. */
  const detail = (decision: AuthzDecision, user: string, more: Partial<AuthzDetail> = {}) => ({
    $case: "authz",
    value: {
      relation: "editor",
      objectType: "project",
      objectId: "p-1",
      decision,
      cacheHit: false,
      errorReason: "",
      storeId: STORE,
      modelId: MODEL,
      user,
      ...more,
    },
  });

  it("records the mapped user of an allowed call, in the whole event", async () => {
    const [error] = await update("allowed", "alice");
    expect(error).toBeNull();
    const event = await authzEvent("allowed");
    expect(fake.state.checks).toStrictEqual([
      { user: "employee:alice", relation: "editor", object: "project:p-1" },
    ]);
    expect(event).toStrictEqual({
      eventId: expect.stringMatching(/^evt-\d+$/),
      eventType: EventType.EVENT_TYPE_AUTHZ_DECISION,
      schemaVersion: 2,
      occurredAt: FIXED_TIME,
      service: "projects",
      operation: UPDATE,
      actor: {
        id: "alice",
        type: ActorType.ACTOR_TYPE_USER,
        displayName: "",
        email: "",
        subject: "",
        clientId: "",
        realm: "",
      },
      target: { type: "project", id: "p-1", name: "" },
      result: { success: true, code: "OK", message: "" },
      traceId: "",
      spanId: "",
      requestId: "allowed",
      peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      // The fixed recorder's monotonic clock against the call's real start: a duration, not a time.
      duration: { seconds: expect.any(Number), nanos: expect.any(Number) },
      userAgent: expect.stringMatching(/^grpc-node-js\//),
      chain: undefined,
      payload: undefined,
      attributes: {},
      instance: "",
      detail: detail(AuthzDecision.AUTHZ_DECISION_ALLOWED, "employee:alice"),
    });
  });

  it("records the user of a denied call", async () => {
    const [error] = await update("denied", "svc-payroll");
    expect(error?.code).toBe(status.PERMISSION_DENIED);
    expect((await authzEvent("denied")).detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_DENIED, "service:payroll"),
    );
  });

  it("records the user of a call the engine failed to decide", async () => {
    fake.state.mode = "error";
    const [error] = await update("error", "svc-billing");
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect((await authzEvent("error")).detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_ERROR, "service:billing", { errorReason: "unavailable" }),
    );
  });

  it("records the user of a cached decision, and of a cache that threw", async () => {
    fake.state.cache = "hit";
    expect((await update("cached", "svc-billing"))[0]).toBeNull();
    expect((await authzEvent("cached")).detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_ALLOWED, "service:billing", { cacheHit: true }),
    );
    fake.state.cache = "throw";
    expect((await update("cache-threw", "alice"))[0]?.code).toBe(status.UNAVAILABLE);
    expect((await authzEvent("cache-threw")).detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_ERROR, "employee:alice", { errorReason: "cache_failed" }),
    );
    expect(fake.state.checks).toStrictEqual([]);
  });

  it("records a refused toUser result as the user, as a refused object id is recorded", async () => {
    toUser = (id) => `employee:${id} smith`;
    const [error] = await update("invalid-user", "alice");
    expect([error?.code, error?.details]).toStrictEqual([
      status.INVALID_ARGUMENT,
      "invalid argument: caller id not valid",
    ]);
    expect((await authzEvent("invalid-user")).detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_ERROR, "employee:alice smith", {
        errorReason: "subject_id_invalid",
      }),
    );
    expect(fake.state.checks).toStrictEqual([]);
  });

  it("records no user when none was resolved: anonymous, invalid object id, toUser failed, no rule", async () => {
    expect((await update("anonymous", undefined))[0]?.code).toBe(status.UNAUTHENTICATED);
    expect((await authzEvent("anonymous")).detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_DENIED, "", { errorReason: "anonymous" }),
    );
    expect((await update("bad-object", "alice", "p:1"))[0]?.code).toBe(status.INVALID_ARGUMENT);
    expect((await authzEvent("bad-object")).detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_ERROR, "", { objectId: "p:1", errorReason: "object_id_invalid" }),
    );
    toUser = () => {
      throw new Error("directory down");
    };
    expect((await update("to-user-threw", "alice"))[0]?.code).toBe(status.UNAVAILABLE);
    expect((await authzEvent("to-user-threw")).detail).toStrictEqual(
      detail(AuthzDecision.AUTHZ_DECISION_ERROR, "", { errorReason: "to_user_failed" }),
    );
    const metadata = new Metadata();
    metadata.set("x-request-id", "no-rule");
    metadata.set("x-user", "alice");
    const [error] = await unary(server.client.createProject.bind(server.client), { name: "x" }, metadata);
    expect(error?.code).toBe(status.PERMISSION_DENIED);
    expect((await authzEvent("no-rule")).detail).toStrictEqual({
      $case: "authz",
      value: {
        relation: "",
        objectType: "",
        objectId: "",
        decision: AuthzDecision.AUTHZ_DECISION_NO_RULE,
        cacheHit: false,
        errorReason: "",
        storeId: "",
        modelId: "",
        user: "",
      },
    });
  });

  it("keeps the user through protobuf and JSON, and shows it in the CLI and the viewer", async () => {
    expect((await update("shown", "svc-billing"))[0]).toBeNull();
    const event: AuditEvent = await authzEvent("shown");
    expect(decodeEvent(encodeEvent(event))).toStrictEqual(event);
    const json = eventToJson(event);
    expect(json.authz).toStrictEqual({
      relation: "editor",
      objectType: "project",
      objectId: "p-1",
      decision: "AUTHZ_DECISION_ALLOWED",
      storeId: STORE,
      modelId: MODEL,
      user: "service:billing",
    });
    expect(eventCells(event).at(-1)).toBe("service:billing editor on project:p-1 -> allowed");
    expect(viewer.summaryOf(json)).toStrictEqual([
      { stored: "service:billing" },
      " ",
      { stored: "editor" },
      " on ",
      { stored: "project" },
      ":",
      { stored: "p-1" },
    ]);
  });
});
