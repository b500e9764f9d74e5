import { describe, expect, it } from "vitest";
import { runInAuditScope } from "../../src/context/scope.js";
import { ANONYMOUS_ACTOR } from "../../src/event/builders.js";
import {
  ActorType,
  AuthnFailureReason,
  AuthzDecision,
  EventType,
  MutationType,
  TupleOperation,
} from "../../src/gen/grpcaudit/v1/event.js";
import { buildEvent, type EventStamp } from "../../src/recorder/build-event.js";
import { fixedScope } from "../helpers/recorder.js";

const TIME = new Date("2026-11-23T10:00:00.000Z");
const BOB = {
  id: "bob",
  type: ActorType.ACTOR_TYPE_USER,
  displayName: "",
  email: "",
  subject: "",
  clientId: "",
  realm: "",
};

/** A stamp for a call of `fixedScope()` with bob as actor, 250 ms into it. */
const IN_CALL: EventStamp = {
  service: "projects",
  instance: "",
  eventId: "evt-1",
  occurredAt: TIME,
  durationMs: 250,
  scope: fixedScope({ actor: BOB }),
};
const OUTSIDE: EventStamp = {
  service: "projects",
  instance: "",
  eventId: "evt-2",
  occurredAt: TIME,
  durationMs: undefined,
  scope: undefined,
};

/** The common fields of an event built with IN_CALL. */
const inCall = (eventType: EventType) => ({
  eventId: "evt-1",
  eventType,
  schemaVersion: 2,
  occurredAt: TIME,
  service: "projects",
  operation: "/example.v1.ProjectService/CreateProject",
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
  requestId: "req-1",
  peer: "127.0.0.1:50000",
  duration: { seconds: 0, nanos: 250_000_000 },
  userAgent: "grpc-node-js/1.14.7",
  chain: undefined,
  payload: undefined,
  attributes: {},
  instance: "",
});

/** The common fields of an event built with OUTSIDE. */
const outside = (eventType: EventType) => ({
  eventId: "evt-2",
  eventType,
  schemaVersion: 2,
  occurredAt: TIME,
  service: "projects",
  operation: "",
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
});

describe("buildEvent", () => {
  it("builds an authn failure as anonymous and UNAUTHENTICATED, the call's facts from the stamp", () => {
    const input = { method: "jwt", success: false, failureReason: "expired" } as const;
    expect(buildEvent("authn.result", input, IN_CALL)).toStrictEqual({
      ...inCall(EventType.EVENT_TYPE_AUTHN_RESULT),
      actor: ANONYMOUS_ACTOR,
      target: undefined,
      result: { success: false, code: "UNAUTHENTICATED", message: "" },
      detail: {
        $case: "authn",
        value: {
          method: "jwt",
          success: false,
          failureReason: AuthnFailureReason.AUTHN_FAILURE_REASON_EXPIRED,
        },
      },
    });
  });

  it("builds an authz decision for the scope's actor, the object as target, the status it was given", () => {
    const input = {
      relation: "editor",
      objectType: "project",
      objectId: "p-1",
      decision: "denied",
      errorReason: "anonymous",
      result: { success: false, code: 16 },
      storeId: "01HXSTORE",
    } as const;
    expect(buildEvent("authz.decision", input, IN_CALL)).toStrictEqual({
      ...inCall(EventType.EVENT_TYPE_AUTHZ_DECISION),
      actor: BOB,
      target: { type: "project", id: "p-1", name: "" },
      result: { success: false, code: "UNAUTHENTICATED", message: "" },
      detail: {
        $case: "authz",
        value: {
          relation: "editor",
          objectType: "project",
          objectId: "p-1",
          decision: AuthzDecision.AUTHZ_DECISION_DENIED,
          cacheHit: false,
          errorReason: "anonymous",
          storeId: "01HXSTORE",
          modelId: "",
          user: "",
        },
      },
    });
  });

  it.each([
    ["allowed", "", { success: true, code: "OK", message: "" }],
    ["denied", "", { success: false, code: "PERMISSION_DENIED", message: "" }],
    ["no_rule", "", { success: false, code: "PERMISSION_DENIED", message: "" }],
    ["error", "timeout", { success: false, code: "DEADLINE_EXCEEDED", message: "" }],
    ["error", "object_id_unresolved", { success: false, code: "INVALID_ARGUMENT", message: "" }],
    ["error", "object_id_invalid", { success: false, code: "INVALID_ARGUMENT", message: "" }],
    ["error", "subject_id_invalid", { success: false, code: "INVALID_ARGUMENT", message: "" }],
    ["denied", "anonymous", { success: false, code: "UNAUTHENTICATED", message: "" }],
    ["error", "rate_limited", { success: false, code: "UNAVAILABLE", message: "" }],
  ] as const)(
    "gives a %s decision (reason %j) without a result its default status",
    (decision, reason, result) => {
      const input = {
        relation: "viewer",
        objectType: "project",
        objectId: "p-1",
        decision,
        errorReason: reason,
      };
      expect(buildEvent("authz.decision", input, OUTSIDE).result).toStrictEqual(result);
    },
  );

  it("gives a tuple change whose tuples name different objects no target", () => {
    const input = {
      tuples: [
        { operation: "write", user: "user:bob", relation: "viewer", object: "project:p-1" },
        { operation: "write", user: "user:bob", relation: "viewer", object: "project:p-2" },
      ],
    } as const;
    expect(buildEvent("tuple.change", input, OUTSIDE).target).toBeUndefined();
  });

  it("records a tuple's condition with its context keys sorted, and no condition for a tuple without one", () => {
    const keys = ["until", "from", "tz"];
    const input = {
      tuples: [
        {
          operation: "write",
          user: "user:bob",
          relation: "viewer",
          object: "project:p-1",
          condition: { name: "in_hours", contextKeys: keys },
        },
        { operation: "write", user: "user:eve", relation: "viewer", object: "project:p-1" },
      ],
    } as const;
    const event = buildEvent("tuple.change", input, OUTSIDE);
    const tuples = event.detail?.$case === "tupleChange" ? event.detail.value.tuples : [];
    expect(tuples.map((t) => t.condition)).toStrictEqual([
      { name: "in_hours", contextKeys: ["from", "tz", "until"] },
      undefined,
    ]);
    expect(keys).toStrictEqual(["until", "from", "tz"]);
  });

  it("builds a tuple change outside a call: its tuples' object as target, no actor, one failed tuple fails it", () => {
    const input = {
      tuples: [
        { operation: "write", user: "user:bob", relation: "viewer", object: "project:p-1" },
        {
          operation: "delete",
          user: "user:eve",
          relation: "editor",
          object: "project:p-1",
          success: false,
          errorReason: "conflict",
        },
      ],
      storeId: "01HXSTORE",
    } as const;
    expect(buildEvent("tuple.change", input, OUTSIDE)).toStrictEqual({
      ...outside(EventType.EVENT_TYPE_TUPLE_CHANGED),
      actor: undefined,
      target: { type: "project", id: "p-1", name: "" }, // the object both tuples name
      // A failed tuple change that names no status has none to tell: UNKNOWN.
      result: { success: false, code: "UNKNOWN", message: "" },
      detail: {
        $case: "tupleChange",
        value: {
          tuples: [
            {
              operation: TupleOperation.TUPLE_OPERATION_WRITE,
              user: "user:bob",
              relation: "viewer",
              object: "project:p-1",
              success: true,
              errorReason: "",
              condition: undefined,
            },
            {
              operation: TupleOperation.TUPLE_OPERATION_DELETE,
              user: "user:eve",
              relation: "editor",
              object: "project:p-1",
              success: false,
              errorReason: "conflict",
              condition: undefined,
            },
          ],
          storeId: "01HXSTORE",
          modelId: "",
        },
      },
    });
  });

  it("lets explicit input win over the scope, and cuts oversized text", () => {
    const input = {
      mutation: "update",
      resourceType: "project",
      resourceId: "p".repeat(300),
      operation: "/other.v1.Service/Method",
      actor: { id: "svc-batch", type: "service" },
      requestId: "req-explicit",
      userAgent: "u".repeat(300),
      result: { success: false, code: "NOT_FOUND", message: "no such project" },
    } as const;
    expect(buildEvent("resource.mutation", input, IN_CALL)).toStrictEqual({
      ...inCall(EventType.EVENT_TYPE_RESOURCE_MUTATION),
      operation: "/other.v1.Service/Method",
      requestId: "req-explicit",
      userAgent: `${"u".repeat(256)}…[truncated 44 bytes]`,
      actor: { ...BOB, id: "svc-batch", type: ActorType.ACTOR_TYPE_SERVICE },
      target: { type: "project", id: `${"p".repeat(256)}…[truncated 44 bytes]`, name: "" },
      result: { success: false, code: "NOT_FOUND", message: "no such project" },
      detail: {
        $case: "resourceMutation",
        value: {
          mutation: MutationType.MUTATION_TYPE_UPDATE,
          resourceType: "project",
          resourceId: `${"p".repeat(256)}…[truncated 44 bytes]`,
        },
      },
    });
  });

  it("reads neither the current scope nor any clock: the same stamp gives the same event", () => {
    const input = { mutation: "create", resourceType: "project", resourceId: "p-1" } as const;
    const first = buildEvent("resource.mutation", input, OUTSIDE);
    const inOtherScope = runInAuditScope(fixedScope({ actor: BOB }), () =>
      buildEvent("resource.mutation", input, OUTSIDE),
    );
    expect(inOtherScope).toStrictEqual(first);
    expect(first).toMatchObject({ operation: "", actor: undefined, occurredAt: TIME, duration: undefined });
  });
});
