import { describe, expect, it } from "vitest";
import { runInAuditScope } from "../../src/context/scope.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { AuditConfigError, AuditEmitError, AuditInputError } from "../../src/errors/index.js";
import { ANONYMOUS_ACTOR } from "../../src/event/builders.js";
import { decodeEvent, encodeEvent, eventFromJson, eventToJson } from "../../src/event/serialize.js";
import {
  ActorType,
  type AuditEvent,
  AuthnFailureReason,
  AuthzDecision,
  EventType,
  MutationType,
  TupleOperation,
} from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { withoutChain, withoutChainOne } from "../helpers/chain.js";
import { FIXED_TIME, fixedRecorder, fixedScope } from "../helpers/recorder.js";

const ALICE = {
  id: "alice",
  type: ActorType.ACTOR_TYPE_USER,
  displayName: "Alice",
  email: "alice@example.com",
  subject: "sub-alice",
  clientId: "web",
  realm: "acme",
};

/** The fields every event recorded inside `fixedScope()` shares. */
function inScope(
  eventId: string,
  eventType: EventType,
): Omit<AuditEvent, "actor" | "target" | "result" | "detail"> {
  return {
    eventId,
    eventType,
    schemaVersion: 2,
    occurredAt: FIXED_TIME,
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
  };
}

describe("Recorder inside an RPC", () => {
  it("records an authn success with the actor, call context and duration", () => {
    const { recorder, memory } = fixedRecorder();
    const outcome = runInAuditScope(fixedScope(), () =>
      recorder.recordAuthnResult({
        method: "jwt",
        success: true,
        actor: {
          id: "alice",
          displayName: "Alice",
          email: "alice@example.com",
          subject: "sub-alice",
          clientId: "web",
          realm: "acme",
        },
      }),
    );
    expect(outcome).toBe("accepted");
    expect(withoutChain(memory.events)).toStrictEqual([
      {
        ...inScope("evt-1", EventType.EVENT_TYPE_AUTHN_RESULT),
        actor: ALICE,
        target: undefined,
        result: { success: true, code: "OK", message: "" },
        detail: {
          $case: "authn",
          value: {
            method: "jwt",
            success: true,
            failureReason: AuthnFailureReason.AUTHN_FAILURE_REASON_UNSPECIFIED,
          },
        },
      },
    ]);
  });

  it("records an authn failure as anonymous and UNAUTHENTICATED", () => {
    const { recorder, memory } = fixedRecorder();
    runInAuditScope(fixedScope(), () =>
      recorder.recordAuthnResult({ method: "jwt", success: false, failureReason: "expired" }),
    );
    expect(withoutChain(memory.events)).toStrictEqual([
      {
        ...inScope("evt-1", EventType.EVENT_TYPE_AUTHN_RESULT),
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
      },
    ]);
  });

  it("records an authz decision for the scope's actor with the object as target", () => {
    const { recorder, memory } = fixedRecorder();
    runInAuditScope(fixedScope({ actor: ALICE }), () =>
      recorder.recordAuthzDecision({
        relation: "editor",
        objectType: "project",
        objectId: "p-1",
        decision: "denied",
        cacheHit: true,
        storeId: "01HXSTORE",
        modelId: "01HXMODEL",
        user: "user:alice",
      }),
    );
    expect(withoutChain(memory.events)).toStrictEqual([
      {
        ...inScope("evt-1", EventType.EVENT_TYPE_AUTHZ_DECISION),
        actor: ALICE,
        target: { type: "project", id: "p-1", name: "" },
        result: { success: false, code: "PERMISSION_DENIED", message: "" },
        detail: {
          $case: "authz",
          value: {
            relation: "editor",
            objectType: "project",
            objectId: "p-1",
            decision: AuthzDecision.AUTHZ_DECISION_DENIED,
            cacheHit: true,
            errorReason: "",
            storeId: "01HXSTORE",
            modelId: "01HXMODEL",
            user: "user:alice",
          },
        },
      },
    ]);
  });

  it("records a tuple change with per-tuple outcomes; one failed tuple fails the result", () => {
    const { recorder, memory } = fixedRecorder();
    runInAuditScope(fixedScope({ actor: ALICE }), () =>
      recorder.recordTupleChange({
        tuples: [
          { operation: "write", user: "user:bob", relation: "viewer", object: "project:p-1" },
          {
            operation: "delete",
            user: "user:eve",
            relation: "editor",
            object: "project:p-1",
            success: false,
            errorReason: "not_found",
          },
        ],
        storeId: "01HXSTORE",
      }),
    );
    expect(withoutChain(memory.events)).toStrictEqual([
      {
        ...inScope("evt-1", EventType.EVENT_TYPE_TUPLE_CHANGED),
        actor: ALICE,
        target: { type: "project", id: "p-1", name: "" },
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
                errorReason: "not_found",
                condition: undefined,
              },
            ],
            storeId: "01HXSTORE",
            modelId: "",
          },
        },
      },
    ]);
  });

  it("records a resource mutation with the resource as target and anonymous when no actor is known", () => {
    const { recorder, memory } = fixedRecorder();
    runInAuditScope(fixedScope(), () =>
      recorder.recordResourceMutation({
        mutation: "create",
        resourceType: "project",
        resourceId: "p-7",
        result: { success: false, code: 6, message: "already exists" },
      }),
    );
    expect(withoutChain(memory.events)).toStrictEqual([
      {
        ...inScope("evt-1", EventType.EVENT_TYPE_RESOURCE_MUTATION),
        actor: ANONYMOUS_ACTOR,
        target: { type: "project", id: "p-7", name: "" },
        result: { success: false, code: "ALREADY_EXISTS", message: "already exists" },
        detail: {
          $case: "resourceMutation",
          value: { mutation: MutationType.MUTATION_TYPE_CREATE, resourceType: "project", resourceId: "p-7" },
        },
      },
    ]);
  });

  it("lets explicit input win over the scope", () => {
    const { recorder, memory } = fixedRecorder();
    runInAuditScope(fixedScope({ actor: ALICE }), () =>
      recorder.recordResourceMutation({
        mutation: "delete",
        resourceType: "project",
        resourceId: "p-7",
        operation: "/other.v1.S/M",
        actor: { id: "svc-cleanup", type: "service" },
        requestId: "req-explicit",
        userAgent: "", // an explicit empty value wins too
        durationMs: 3,
      }),
    );
    const [event] = memory.events;
    expect(event?.operation).toBe("/other.v1.S/M");
    expect(event?.actor?.id).toBe("svc-cleanup");
    expect(event?.actor?.type).toBe(ActorType.ACTOR_TYPE_SERVICE);
    expect(event?.requestId).toBe("req-explicit");
    expect(event?.userAgent).toBe("");
    expect(event?.duration).toStrictEqual({ seconds: 0, nanos: 3_000_000 });
    expect(event?.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });
});

describe("Recorder outside an RPC", () => {
  it("leaves call context empty unless given, and records what is passed explicitly", () => {
    const { recorder, memory } = fixedRecorder();
    recorder.recordResourceMutation({ mutation: "update", resourceType: "project", resourceId: "p-1" });
    recorder.recordTupleChange({
      tuples: [{ operation: "write", user: "user:bob", relation: "viewer", object: "project:p-1" }],
      operation: "/batch/import",
      actor: { id: "importer", type: "system" },
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      requestId: "r",
      peer: "p",
      userAgent: "batch-importer/2.0",
      durationMs: 1,
      occurredAt: new Date("2020-01-01T00:00:00Z"),
      target: { type: "project", id: "p-1", name: "Apollo" },
    });
    const [plain, explicit] = memory.events;
    expect(withoutChainOne(plain)).toStrictEqual({
      eventId: "evt-1",
      eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION,
      schemaVersion: 2,
      occurredAt: FIXED_TIME,
      service: "projects",
      operation: "",
      actor: undefined,
      target: { type: "project", id: "p-1", name: "" },
      result: { success: true, code: "OK", message: "" },
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
      detail: {
        $case: "resourceMutation",
        value: { mutation: MutationType.MUTATION_TYPE_UPDATE, resourceType: "project", resourceId: "p-1" },
      },
    });
    expect(explicit).toMatchObject({
      operation: "/batch/import",
      actor: { id: "importer", type: ActorType.ACTOR_TYPE_SYSTEM },
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      requestId: "r",
      peer: "p",
      userAgent: "batch-importer/2.0",
      duration: { seconds: 0, nanos: 1_000_000 },
      occurredAt: new Date("2020-01-01T00:00:00Z"),
      target: { type: "project", id: "p-1", name: "Apollo" },
    });
  });

  it("fills unique, time-ordered UUIDv7 ids and the current time by default, over 100k events", () => {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "s", emitters: [memory] });
    const before = Date.now();
    for (let i = 0; i < 100_000; i++) {
      recorder.recordResourceMutation({ mutation: "create", resourceType: "t", resourceId: String(i) });
    }
    const after = Date.now();
    const ids = memory.events.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(100_000);
    expect([...ids].sort()).toStrictEqual(ids);
    expect(memory.events.map((e) => e.target?.id)).toStrictEqual(
      Array.from({ length: 100_000 }, (_, i) => String(i)),
    );
    const times = memory.events.map((e) => e.occurredAt?.getTime() ?? 0);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(before);
    expect(Math.max(...times)).toBeLessThanOrEqual(after);
  });
});

describe("serialisation of recorded events", () => {
  it("round-trips every kind through proto3 JSON and protobuf binary", () => {
    const { recorder, memory } = fixedRecorder();
    runInAuditScope(fixedScope({ actor: ALICE }), () => {
      recorder.recordAuthnResult({ method: "jwt", success: false, failureReason: "bad_signature" });
      recorder.recordAuthzDecision({
        relation: "viewer",
        objectType: "project",
        objectId: "p-1",
        decision: "error",
        errorReason: "timeout",
      });
      recorder.recordTupleChange({
        tuples: [{ operation: "write", user: "user:bob", relation: "viewer", object: "project:p-1" }],
      });
      recorder.recordResourceMutation({ mutation: "delete", resourceType: "project", resourceId: "p-1" });
    });
    recorder.recordResourceMutation({ mutation: "create", resourceType: "project", resourceId: "p-2" });
    expect(memory.events).toHaveLength(5);
    for (const event of memory.events) {
      expect(eventFromJson(JSON.parse(JSON.stringify(eventToJson(event))))).toStrictEqual(event);
      expect(decodeEvent(encodeEvent(event))).toStrictEqual(event);
    }
  });
});

describe("observers", () => {
  const base = { relation: "viewer", objectType: "project", objectId: "p-1" } as const;

  it.each([
    ["allowed", { ...base, decision: "allowed" }, AuthzDecision.AUTHZ_DECISION_ALLOWED, "", "OK"],
    ["denied", { ...base, decision: "denied" }, AuthzDecision.AUTHZ_DECISION_DENIED, "", "PERMISSION_DENIED"],
    [
      "denied for an anonymous caller",
      { ...base, objectId: "", decision: "denied", errorReason: "anonymous" },
      AuthzDecision.AUTHZ_DECISION_DENIED,
      "anonymous",
      "UNAUTHENTICATED", // what the authz interceptor answers an anonymous caller
    ],
    [
      "no rule",
      { ...base, decision: "no_rule" },
      AuthzDecision.AUTHZ_DECISION_NO_RULE,
      "",
      "PERMISSION_DENIED",
    ],
    [
      "an engine error",
      { ...base, decision: "error", errorReason: "ECONNREFUSED" },
      AuthzDecision.AUTHZ_DECISION_ERROR,
      "ECONNREFUSED",
      "UNAVAILABLE",
    ],
    [
      "a timeout",
      { ...base, decision: "error", errorReason: "timeout" },
      AuthzDecision.AUTHZ_DECISION_ERROR,
      "timeout",
      "DEADLINE_EXCEEDED",
    ],
    [
      "an unresolvable object id",
      { ...base, objectId: "", decision: "error", errorReason: "object_id_unresolved" },
      AuthzDecision.AUTHZ_DECISION_ERROR,
      "object_id_unresolved",
      "INVALID_ARGUMENT",
    ],
    [
      "a status given by the authz layer",
      { ...base, decision: "denied", result: { success: false, code: 16 } },
      AuthzDecision.AUTHZ_DECISION_DENIED,
      "",
      "UNAUTHENTICATED",
    ],
  ] as const)(
    "records %s as reported, with its default status",
    (_name, input, decision, errorReason, code) => {
      const { recorder, memory } = fixedRecorder();
      recorder.authzObserver()(input);
      const [event] = memory.events;
      expect(event?.detail).toStrictEqual({
        $case: "authz",
        value: {
          relation: "viewer",
          objectType: "project",
          objectId: input.objectId,
          decision,
          cacheHit: false,
          errorReason,
          storeId: "",
          modelId: "",
          user: "",
        },
      });
      expect(event?.result).toStrictEqual({
        success: decision === AuthzDecision.AUTHZ_DECISION_ALLOWED,
        code,
        message: "",
      });
    },
  );

  it("records authn attempts: success with actor, failure with its reason; refuses a failure without one", () => {
    const { recorder, memory, errors } = fixedRecorder();
    const observe = recorder.authnObserver();
    observe({ method: "jwt", success: true, actor: { id: "alice" } });
    observe({ method: "jwt", success: false, failureReason: "wrong_audience" });
    observe({ method: "mtls", success: false });
    expect(memory.events.map((e) => [e.actor?.id, e.actor?.type, e.detail])).toStrictEqual([
      [
        "alice",
        ActorType.ACTOR_TYPE_USER,
        {
          $case: "authn",
          value: {
            method: "jwt",
            success: true,
            failureReason: AuthnFailureReason.AUTHN_FAILURE_REASON_UNSPECIFIED,
          },
        },
      ],
      [
        "anonymous",
        ActorType.ACTOR_TYPE_ANONYMOUS,
        {
          $case: "authn",
          value: {
            method: "jwt",
            success: false,
            failureReason: AuthnFailureReason.AUTHN_FAILURE_REASON_WRONG_AUDIENCE,
          },
        },
      ],
    ]);
    expect(errors.map((error) => error.message)).toStrictEqual([
      "recordAuthnResult: failureReason is required when success is false",
    ]);
    expect(recorder.stats()).toMatchObject({ accepted: 2, invalid: 1 });
  });
});

describe("bad record input", () => {
  it.each([
    ["recordAuthnResult", "not an object", "recordAuthnResult: input must be an object"],
    ["recordAuthnResult", { method: "", success: true }, "recordAuthnResult: method must not be empty"],
    [
      "recordAuthnResult",
      { method: "jwt", success: false },
      "recordAuthnResult: failureReason is required when success is false",
    ],
    [
      "recordAuthnResult",
      { method: "jwt", success: false, failureReason: "stolen" },
      "recordAuthnResult: failureReason must be one of missing, malformed, bad_signature, expired, not_yet_valid, wrong_issuer, wrong_audience, wrong_type, unknown_key, disallowed_algorithm, error, got a string of length 6",
    ],
    [
      "recordAuthzDecision",
      { relation: "viewer", objectType: "project", objectId: "p" },
      "recordAuthzDecision: decision must be one of allowed, denied, no_rule, error, got undefined",
    ],
    [
      "recordAuthzDecision",
      { objectType: "project", objectId: "p", decision: "allowed" },
      "recordAuthzDecision: relation must be a string, got undefined",
    ],
    ["recordTupleChange", { tuples: [] }, "recordTupleChange: tuples must be a non-empty array"],
    [
      "recordTupleChange",
      { tuples: [{ operation: "write", user: "u", relation: "r" }] },
      "recordTupleChange: tuples[0].object must be a string, got undefined",
    ],
    [
      "recordTupleChange",
      { tuples: [{ operation: "write", user: "u", relation: "r", object: "o", condition: { name: "" } }] },
      "recordTupleChange: tuples[0].condition.name must not be empty",
    ],
    [
      "recordTupleChange",
      {
        tuples: [
          {
            operation: "write",
            user: "u",
            relation: "r",
            object: "o",
            condition: { name: "c", contextKeys: ["a", 1] },
          },
        ],
      },
      "recordTupleChange: tuples[0].condition.contextKeys[1] must be a string, got number",
    ],
    [
      "recordResourceMutation",
      { mutation: "create", resourceType: "project" },
      "recordResourceMutation: resourceId must be a string, got undefined",
    ],
    [
      "recordResourceMutation",
      { mutation: "create", resourceType: "project", resourceId: "p", actor: { id: 7 } },
      "recordResourceMutation: actor.id must be a string, got number",
    ],
    [
      "recordResourceMutation",
      { mutation: "create", resourceType: "project", resourceId: "p", durationMs: Number.NaN },
      "recordResourceMutation: durationMs must be a finite number >= 0, got number",
    ],
    [
      "recordResourceMutation",
      { mutation: "create", resourceType: "project", resourceId: "p", occurredAt: new Date("nope") },
      "recordResourceMutation: occurredAt must be a valid Date from 0001-01-01 to 9999-12-31 (UTC), got an invalid Date",
    ],
    [
      "recordResourceMutation",
      { mutation: "create", resourceType: "project", resourceId: "p", requestId: 5 },
      "recordResourceMutation: requestId must be a string, got number",
    ],
    [
      "recordAuthnResult",
      { method: "jwt", success: true, userAgent: ["grpc-node-js/1.14.7"] },
      "recordAuthnResult: userAgent must be a string, got an array",
    ],
  ] as const)(
    "%s refuses %j with a precise error and counts it, without throwing",
    (method, input, message) => {
      const { recorder, memory, errors } = fixedRecorder();
      const record = recorder[method] as (input: unknown) => string;
      expect(record(input)).toBe("failed");
      expect(memory.events).toHaveLength(0);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(AuditInputError);
      expect(errors[0]?.message).toBe(message);
      expect(recorder.stats().invalid).toBe(1);
    },
  );

  it("never echoes input values in errors", () => {
    const { recorder, errors } = fixedRecorder();
    (recorder.recordAuthnResult as (input: unknown) => string)({
      method: "jwt",
      success: "Bearer eyJhbGciOi.secret",
    });
    expect(errors[0]?.message).toBe(
      "recordAuthnResult: success must be a boolean, got a string of length 24",
    );
  });
});

describe("delivery failures", () => {
  it("counts an emitter that throws as failed, reports it, and never throws", () => {
    const errors: Error[] = [];
    const throwing = {
      ...createNoopEmitter({ name: "broken" }),
      emit: () => {
        throw new Error("disk on fire");
      },
    };
    const recorder = createRecorder({ service: "s", emitters: [throwing], onError: (e) => errors.push(e) });
    expect(recorder.recordResourceMutation({ mutation: "create", resourceType: "t", resourceId: "1" })).toBe(
      "failed",
    );
    expect(errors[0]).toBeInstanceOf(AuditEmitError);
    expect(recorder.stats()).toMatchObject({ failed: 1, accepted: 0 });
  });

  it("survives an onError hook that throws", () => {
    const recorder = createRecorder({
      service: "s",
      emitters: [createNoopEmitter()],
      onError: () => {
        throw new Error("hook broken");
      },
    });
    expect((recorder.recordResourceMutation as (input: unknown) => string)({})).toBe("failed");
  });

  it("drops and counts events recorded after close", async () => {
    const { recorder, memory } = fixedRecorder();
    recorder.recordResourceMutation({ mutation: "create", resourceType: "t", resourceId: "1" });
    expect((await recorder.close()).ok).toBe(true);
    expect(recorder.recordResourceMutation({ mutation: "create", resourceType: "t", resourceId: "2" })).toBe(
      "dropped",
    );
    expect(memory.events).toHaveLength(1);
    expect(recorder.stats()).toStrictEqual({
      recorded: {
        "authn.result": 0,
        "authz.decision": 0,
        "tuple.change": 0,
        "resource.mutation": 1, // the late one is dropped by the Recorder, never built
        "resource.access": 0,
        "chain.checkpoint": 0,
        "record.summary": 0,
      },
      accepted: 1,
      dropped: 1,
      failed: 0,
      invalid: 0,
      errors: 0,
      attributesDropped: 0,
      authn: { success: 0 },
      authz: { allowed: 0, denied: 0, no_rule: 0, error: 0 },
      skipped: {
        byKind: { "authn.result": 0, "authz.decision": 0, "resource.access": 0 },
        counts: [],
        overflow: 0,
      },
      pendingRecords: 0,
      emitter: { name: "memory", emitted: 1, dropped: {}, failed: 0 },
    });
  });

  it("fans out to several emitters and reports each in stats", async () => {
    const first = createMemoryEmitter({ name: "first" });
    const second = createMemoryEmitter({ name: "second" });
    const recorder = createRecorder({ service: "s", emitters: [first, second] });
    expect(recorder.recordResourceMutation({ mutation: "create", resourceType: "t", resourceId: "1" })).toBe(
      "accepted",
    );
    expect(first.events).toHaveLength(1);
    expect(second.events).toStrictEqual(first.events);
    expect(recorder.stats().emitter.sinks?.map((s) => [s.name, s.emitted])).toStrictEqual([
      ["first", 1],
      ["second", 1],
    ]);
    expect((await recorder.flush()).results.map((r) => [r.emitter, r.status])).toStrictEqual([
      ["first", "ok"],
      ["second", "ok"],
    ]);
  });
});

describe("createRecorder options", () => {
  it.each([
    ["no options", undefined, "createRecorder: options must be an object with `service` and `emitters`"],
    [
      "an empty service",
      { service: " ", emitters: [{ kind: "noop" }] },
      "createRecorder: `service` must be a non-empty string",
    ],
    [
      "no emitters",
      { service: "s" },
      'createRecorder: `emitters` must list at least one emitter (use { kind: "noop" } to discard events on purpose)',
    ],
    [
      "an unknown emitter kind",
      { service: "s", emitters: [{ kind: "noop" }, { kind: "kafka" }] },
      'createRecorder: emitters[1]: unknown kind "kafka"; known kinds: log, noop',
    ],
    [
      "a log emitter without logger",
      { service: "s", emitters: [{ kind: "log" }] },
      "createRecorder: emitters[0]: log emitter: needs a pino `logger` or a `destination` (path, fd or stream)",
    ],
    [
      "a non-function clock",
      { service: "s", emitters: [{ kind: "noop" }], now: 5 },
      "createRecorder: `now` must be a function",
    ],
  ])("throws a clear AuditConfigError for %s", (_name, options, message) => {
    const create = createRecorder as (options: unknown) => unknown;
    expect(() => create(options)).toThrow(AuditConfigError);
    expect(() => create(options)).toThrow(message);
  });
});
