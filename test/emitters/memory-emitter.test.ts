import { describe, expect, it } from "vitest";
import { createMemoryEmitter, type EventMatch, matchesEvent } from "../../src/emitters/memory-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { ActorType, type AuditEvent, EventType, TupleOperation } from "../../src/gen/grpcaudit/v1/event.js";
import { DETAIL_KINDS, SAMPLE_TIME, sampleEvent, sampleEvents } from "../helpers/events.js";

const OPERATION = "/acme.projects.v1.ProjectService/UpdateProject";
const AUTHN_LINE = `authn.result ${OPERATION} actor=user-7 target=service/acme.projects.v1.ProjectService result=UNAUTHENTICATED`;
const AUTHZ_LINE = `authz.decision ${OPERATION} actor=user-7 target=project/p-42 result=PERMISSION_DENIED decision=AUTHZ_DECISION_DENIED`;

/** Emits `event` on a later turn of the event loop. */
function emitLater(emit: (event: AuditEvent) => unknown, event: AuditEvent, ms = 10): void {
  setTimeout(() => emit(event), ms);
}

/** The four sample events as a tuple, so tests can name them. */
function fourEvents(): [AuditEvent, AuditEvent, AuditEvent, AuditEvent] {
  const [authn, authz, tupleChange, resourceMutation] = sampleEvents();
  if (!authn || !authz || !tupleChange || !resourceMutation) throw new Error("sampleEvents() is short");
  return [authn, authz, tupleChange, resourceMutation];
}

describe("createMemoryEmitter", () => {
  it("keeps the events it receives, oldest first, and counts them", () => {
    const memory = createMemoryEmitter();
    const events = sampleEvents();

    for (const event of events) expect(memory.emit(event)).toBe("accepted");

    expect(memory.events).toStrictEqual(events);
    expect(memory.events[0]).toBe(events[0]);
    expect(memory.name).toBe("memory");
    expect(memory.stats()).toStrictEqual({
      name: "memory",
      emitted: DETAIL_KINDS.length,
      dropped: {},
      failed: 0,
    });
  });

  it("filters by a deep partial match or by a predicate", () => {
    const memory = createMemoryEmitter();
    const [authn, authz, tupleChange, resourceMutation] = fourEvents();
    for (const event of [authn, authz, tupleChange, resourceMutation]) memory.emit(event);

    expect(memory.filter({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION })).toStrictEqual([authz]);
    expect(memory.filter({ target: { type: "project" } })).toStrictEqual([
      authz,
      tupleChange,
      resourceMutation,
    ]);
    expect(memory.filter({ result: { success: true } })).toStrictEqual([resourceMutation]);
    expect(memory.filter((event) => event.detail?.$case.startsWith("a") === true)).toStrictEqual([
      authn,
      authz,
    ]);
    expect(memory.filter({ service: "other" })).toStrictEqual([]);
    expect(memory.filter({})).toStrictEqual([authn, authz, tupleChange, resourceMutation]);
  });

  describe("waitFor", () => {
    it("resolves at once with an event already received", async () => {
      const memory = createMemoryEmitter();
      const [authn, authz] = fourEvents();
      memory.emit(authn);
      memory.emit(authz);

      await expect(memory.waitFor({ detail: { $case: "authz" } }, { timeoutMs: 50 })).resolves.toBe(authz);
    });

    it("resolves when a matching event is emitted later, skipping events that do not match", async () => {
      const memory = createMemoryEmitter();
      const [authn, authz, tupleChange] = fourEvents();
      memory.emit(authn);

      const waiting = memory.waitFor({ eventType: EventType.EVENT_TYPE_TUPLE_CHANGED });
      emitLater(memory.emit, authz, 5);
      emitLater(memory.emit, tupleChange, 20);

      await expect(waiting).resolves.toBe(tupleChange);
      expect(memory.events).toStrictEqual([authn, authz, tupleChange]);
    });

    it("resolves with a predicate", async () => {
      const memory = createMemoryEmitter();
      const event = sampleEvent({ requestId: "req-42" });

      const waiting = memory.waitFor((e) => e.requestId === "req-42");
      emitLater(memory.emit, sampleEvent());
      emitLater(memory.emit, event, 15);

      await expect(waiting).resolves.toBe(event);
    });

    it("rejects after the timeout with a message listing the events received", async () => {
      const memory = createMemoryEmitter();
      const [authn, authz] = fourEvents();
      memory.emit(authn);
      memory.emit(authz);

      const started = performance.now();
      await expect(memory.waitFor({ service: "billing" }, { timeoutMs: 50 })).rejects.toThrow(
        new Error(
          `no event matching {"service":"billing"} within 50 ms; received 2 events:\n  ${AUTHN_LINE}\n  ${AUTHZ_LINE}`,
        ),
      );
      expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    });

    it("says none when no event arrived", async () => {
      const memory = createMemoryEmitter();

      await expect(memory.waitFor({}, { timeoutMs: 20 })).rejects.toThrow(
        new Error("no event matching {} within 20 ms; received none"),
      );
    });

    it("lists only the last 10 events received", async () => {
      const memory = createMemoryEmitter();
      for (let i = 0; i < 12; i++) memory.emit(sampleEvent({ kind: "authn", operation: `/svc/M${i}` }));

      const listed = Array.from(
        { length: 10 },
        (_, i) =>
          `\n  authn.result /svc/M${i + 2} actor=user-7 target=service/acme.projects.v1.ProjectService result=UNAUTHENTICATED`,
      ).join("");
      await expect(memory.waitFor({ service: "billing" }, { timeoutMs: 20 })).rejects.toThrow(
        new Error(
          `no event matching {"service":"billing"} within 20 ms; the last 10 of 12 events received:${listed}`,
        ),
      );
    });

    it("rejects the wait, without making emit throw, when its predicate throws", async () => {
      const memory = createMemoryEmitter();
      const waiting = memory.waitFor(
        () => {
          throw new Error("predicate exploded");
        },
        { timeoutMs: 50 },
      );
      waiting.catch(() => {}); // asserted below; keep it from being reported as unhandled meanwhile

      expect(() => memory.emit(sampleEvent())).not.toThrow();
      await expect(waiting).rejects.toThrow();
      expect(memory.stats()).toStrictEqual({ name: "memory", emitted: 1, dropped: {}, failed: 0 });
    });
  });

  describe("waitForCount", () => {
    it("resolves at once when enough events have arrived", async () => {
      const memory = createMemoryEmitter();
      const events = sampleEvents();
      for (const event of events) memory.emit(event);

      await expect(memory.waitForCount(3, { timeoutMs: 50 })).resolves.toStrictEqual(events);
    });

    it("resolves once the count is reached by later events", async () => {
      const memory = createMemoryEmitter();
      const [authn, authz, tupleChange] = fourEvents();
      memory.emit(authn);

      const waiting = memory.waitForCount(3);
      emitLater(memory.emit, authz, 5);
      emitLater(memory.emit, tupleChange, 15);

      await expect(waiting).resolves.toStrictEqual([authn, authz, tupleChange]);
    });

    it("rejects after the timeout with a message listing the events received", async () => {
      const memory = createMemoryEmitter();
      memory.emit(sampleEvent({ kind: "resourceMutation" }));

      await expect(memory.waitForCount(3, { timeoutMs: 30 })).rejects.toThrow(
        new Error(
          `fewer than 3 events within 30 ms; received 1 event:\n  resource.mutation ${OPERATION} actor=user-7 target=project/p-42 result=OK`,
        ),
      );
    });
  });

  it("clear() forgets the events received, and later events are kept again", async () => {
    const memory = createMemoryEmitter();
    const [authn, authz] = fourEvents();
    memory.emit(authn);

    memory.clear();

    expect(memory.events).toStrictEqual([]);
    expect(memory.filter({})).toStrictEqual([]);
    const waiting = memory.waitFor({ eventType: EventType.EVENT_TYPE_AUTHN_RESULT }, { timeoutMs: 30 });
    await expect(waiting).rejects.toThrow("received none");

    expect(memory.emit(authz)).toBe("accepted");
    expect(memory.events).toStrictEqual([authz]);
    expect(memory.stats()).toStrictEqual({ name: "memory", emitted: 2, dropped: {}, failed: 0 });
  });

  it("drops and counts events beyond its capacity, and takes events again after clear()", () => {
    const memory = createMemoryEmitter({ name: "small", capacity: 2 });
    const [authn, authz, tupleChange, resourceMutation] = fourEvents();

    expect([authn, authz, tupleChange].map((event) => memory.emit(event))).toStrictEqual([
      "accepted",
      "accepted",
      "dropped",
    ]);
    expect(memory.events).toStrictEqual([authn, authz]);
    expect(memory.stats()).toStrictEqual({ name: "small", emitted: 2, dropped: { capacity: 1 }, failed: 0 });

    memory.clear();
    expect(memory.emit(resourceMutation)).toBe("accepted");
    expect(memory.events).toStrictEqual([resourceMutation]);
  });

  it("drops and counts events emitted after close", async () => {
    const memory = createMemoryEmitter();
    const [authn, authz] = fourEvents();
    memory.emit(authn);

    expect(await memory.flush()).toStrictEqual({ ok: true, results: [{ emitter: "memory", status: "ok" }] });
    expect(await memory.close()).toStrictEqual({ ok: true, results: [{ emitter: "memory", status: "ok" }] });
    expect(memory.emit(authz)).toBe("dropped");

    expect(memory.events).toStrictEqual([authn]);
    expect(memory.stats()).toStrictEqual({ name: "memory", emitted: 1, dropped: { closed: 1 }, failed: 0 });
  });

  for (const capacity of [0, -1, 1.5, Number.NaN]) {
    it(`throws an AuditConfigError for capacity ${capacity}`, () => {
      expect(() => createMemoryEmitter({ capacity })).toThrow(
        new AuditConfigError(`memory emitter: capacity must be a positive integer, got ${capacity}`),
      );
    });
  }
});

describe("matchesEvent", () => {
  const event = sampleEvent({ kind: "tupleChange" });

  const matching: [string, EventMatch][] = [
    ["an empty match", {}],
    ["a top-level field", { service: "projects" }],
    ["an enum", { eventType: EventType.EVENT_TYPE_TUPLE_CHANGED }],
    ["part of a nested object", { actor: { email: "alice@example.com", type: ActorType.ACTOR_TYPE_USER } }],
    ["a Date with the same time (another instance)", { occurredAt: new Date(SAMPLE_TIME) }],
    ["a false boolean", { result: { success: false } }],
    ["the detail kind", { detail: { $case: "tupleChange" } }],
    [
      "array elements by position, each a partial",
      {
        detail: {
          $case: "tupleChange",
          value: { tuples: [{ user: "user:alice" }, { operation: TupleOperation.TUPLE_OPERATION_DELETE }] },
        },
      },
    ],
    ["a duration", { duration: { seconds: 1, nanos: 250_000_000 } }],
  ];
  for (const [what, match] of matching) {
    it(`matches ${what}`, () => {
      expect(matchesEvent(event, match)).toBe(true);
    });
  }

  it("matches a field given as undefined against an unset field", () => {
    const { duration: _duration, ...withoutDuration } = sampleEvent();
    expect(matchesEvent(withoutDuration, { duration: undefined })).toBe(true);
  });

  const mismatching: [string, EventMatch][] = [
    ["a different top-level field", { service: "billing" }],
    ["a different enum", { eventType: EventType.EVENT_TYPE_AUTHZ_DECISION }],
    ["a different nested field", { actor: { email: "bob@example.com" } }],
    ["a Date with another time", { occurredAt: new Date(Date.parse(SAMPLE_TIME) + 1) }],
    ["a different detail kind", { detail: { $case: "authz" } }],
    ["a field given as undefined that is set", { actor: undefined }],
    ["a truthy value for a false boolean", { result: { success: true } }],
    [
      "an array of another length",
      { detail: { $case: "tupleChange", value: { tuples: [{ user: "user:alice" }] } } },
    ],
    ["an empty array against a non-empty one", { detail: { $case: "tupleChange", value: { tuples: [] } } }],
    [
      "array elements in another order",
      {
        detail: {
          $case: "tupleChange",
          value: { tuples: [{ user: "team:core#member" }, { user: "user:alice" }] },
        },
      },
    ],
  ];
  for (const [what, match] of mismatching) {
    it(`does not match ${what}`, () => {
      expect(matchesEvent(event, match)).toBe(false);
    });
  }

  it("does not match a Date against an event without that field", () => {
    const { occurredAt: _occurredAt, ...withoutTime } = sampleEvent();
    expect(matchesEvent(withoutTime, { occurredAt: new Date(SAMPLE_TIME) })).toBe(false);
  });
});

// Before the fix: a negative or NaN timeout gave up at once ("within -1 ms"), a null match waited for
// nothing, a misspelt `timeout` was ignored, and waitForCount(-1) resolved.
describe("memory emitter waits that cannot wait as asked", () => {
  const memory = createMemoryEmitter();
  const refusal = (problem: string) => new AuditConfigError(`memory emitter: ${problem}`);
  it.each([
    [
      () => memory.waitFor({}, { timeoutMs: -1 }),
      "waitFor: `timeoutMs` must be a number of ms from 0 to 2147483647 (what a timer holds), got -1",
    ],
    [
      () => memory.waitFor({}, { timeoutMs: Number.NaN }),
      "waitFor: `timeoutMs` must be a number of ms from 0 to 2147483647 (what a timer holds), got NaN",
    ],
    [
      () => memory.waitFor({}, { timeoutMs: 2 ** 31 }),
      "waitFor: `timeoutMs` must be a number of ms from 0 to 2147483647 (what a timer holds), got 2147483648",
    ],
    [
      () => memory.waitFor(null as unknown as EventMatch),
      "waitFor: match must be an object of event fields or a function, got null",
    ],
    [
      () => memory.waitFor({}, { timeout: 5 } as { timeoutMs?: number }),
      "waitFor: unknown option `timeout` (did you mean `timeoutMs`?)",
    ],
    [() => memory.waitForCount(-1), "waitForCount: count must be a whole number ≥ 0, got -1"],
    [
      () => memory.waitForCount("x" as unknown as number),
      'waitForCount: count must be a whole number ≥ 0, got "x"',
    ],
  ])("rejects %#", async (wait, problem) => {
    await expect(wait()).rejects.toThrow(refusal(problem));
  });
});

// Before the fix: filter() of a bad match returned [] and matchesEvent false, as if nothing matched.
describe("memory emitter filter and matchesEvent with arguments of another type", () => {
  const memory = createMemoryEmitter();
  memory.emit(sampleEvent());
  it.each([
    [() => memory.filter(undefined as unknown as EventMatch), "memory emitter: filter", "undefined"],
    [() => memory.filter(null as unknown as EventMatch), "memory emitter: filter", "null"],
    [
      () => memory.filter("EVENT_TYPE_AUTHZ_DECISION" as EventMatch),
      "memory emitter: filter",
      '"EVENT_TYPE_AUTHZ_DECISION"',
    ],
    [() => memory.filter([] as EventMatch), "memory emitter: filter", "an array"],
  ])("filter throws an AuditConfigError %#", (call, method, got) => {
    expect(call).toThrow(
      new AuditConfigError(`${method}: match must be an object of event fields or a function, got ${got}`),
    );
  });

  it("matchesEvent throws an AuditConfigError for an event or a match that is not an object", () => {
    expect(() => matchesEvent(undefined as unknown as AuditEvent, {})).toThrow(
      new AuditConfigError("matchesEvent: event must be an audit event, got undefined"),
    );
    expect(() => matchesEvent(sampleEvent(), null as unknown as EventMatch)).toThrow(
      new AuditConfigError("matchesEvent: match must be an object of event fields, got null"),
    );
    expect(() => matchesEvent(sampleEvent(), (() => true) as EventMatch)).toThrow(
      new AuditConfigError("matchesEvent: match must be an object of event fields, got function"),
    );
  });
});
