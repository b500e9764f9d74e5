// The per-kind record policy: with "failures" a kind's successes are counted per (kind, actor,
// method) in stats().skipped instead of becoming events; every failure is still recorded, the chain
// has no gap, and a bad policy is refused at construction.
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { runInAuditScope } from "../../src/context/scope.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { ActorType, type AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import type { RecordPolicy } from "../../src/recorder/record-policy.js";
import type { Recorder } from "../../src/recorder/recorder.js";
import { fixedRecorder, fixedScope } from "../helpers/recorder.js";

const CREATE = "/example.v1.ProjectService/CreateProject";
const GET = "/example.v1.ProjectService/GetProject";
const FAILURES: RecordPolicy = {
  "authn.result": "failures",
  "authz.decision": "failures",
  "resource.access": "failures",
};
/** The scope's actor, as authn sets it (an Actor with every field). */
const SCOPE_ACTOR = {
  id: "alice",
  type: ActorType.ACTOR_TYPE_USER,
  displayName: "",
  email: "",
  subject: "",
  clientId: "",
  realm: "",
};
const ALICE_INPUT = { id: "alice" };
const allowed = { relation: "viewer", objectType: "project", objectId: "p-1", decision: "allowed" } as const;

/** The kind of each event and whether its result is a success, for comparing trails at a glance. */
const summary = (events: readonly AuditEvent[]) =>
  events.map((e) => [e.detail?.$case, e.result?.success, e.result?.code]);

/** One success of each skippable kind, inside a call of `operation` by `actor` (none: anonymous). */
function successes(recorder: Recorder, operation: string, actor?: { id: string }): void {
  const scope = fixedScope({ operation, ...(actor && { actor: { ...SCOPE_ACTOR, ...actor } }) });
  runInAuditScope(scope, () => {
    recorder.recordAuthnResult({ method: "jwt", success: true, ...(actor && { actor }) });
    recorder.recordAuthzDecision(allowed);
    recorder.recordResourceAccess({ resourceType: "project", resourceId: "p-1" });
  });
}

describe("record policy failures", () => {
  it("counts successes per kind, actor and method instead of recording them; no id is taken", () => {
    let ids = 0;
    const { recorder, memory, errors } = fixedRecorder({
      record: FAILURES,
      newEventId: () => `evt-${++ids}`,
    });
    successes(recorder, CREATE, { id: "alice" });
    successes(recorder, CREATE, { id: "alice" });
    successes(recorder, GET, { id: "bob" });
    successes(recorder, GET); // an RPC without an actor: anonymous
    // Outside an RPC the event would have had no actor and no operation, unless the input names them.
    expect(recorder.recordResourceAccess({ resourceType: "project", resourceId: "p-2" })).toBe("accepted");
    recorder.recordResourceAccess({
      resourceType: "project",
      resourceId: "p-2",
      actor: { id: "batch", type: "service" },
      operation: "nightly-export",
    });
    expect(memory.events).toStrictEqual([]);
    expect(ids).toBe(0);
    expect(errors).toStrictEqual([]);
    const stats = recorder.stats();
    expect(stats.skipped).toStrictEqual({
      byKind: { "authn.result": 4, "authz.decision": 4, "resource.access": 6 },
      counts: [
        { kind: "authn.result", actor: "alice", operation: CREATE, count: 2 },
        { kind: "authz.decision", actor: "alice", operation: CREATE, count: 2 },
        { kind: "resource.access", actor: "alice", operation: CREATE, count: 2 },
        { kind: "authn.result", actor: "bob", operation: GET, count: 1 },
        { kind: "authz.decision", actor: "bob", operation: GET, count: 1 },
        { kind: "resource.access", actor: "bob", operation: GET, count: 1 },
        { kind: "authn.result", actor: "anonymous", operation: GET, count: 1 },
        { kind: "authz.decision", actor: "anonymous", operation: GET, count: 1 },
        { kind: "resource.access", actor: "anonymous", operation: GET, count: 1 },
        { kind: "resource.access", actor: "", operation: "", count: 1 },
        { kind: "resource.access", actor: "batch", operation: "nightly-export", count: 1 },
      ],
      overflow: 0,
    });
    expect(stats).toMatchObject({ accepted: 0, dropped: 0, failed: 0, invalid: 0 });
    expect(Object.values(stats.recorded).every((n) => n === 0)).toBe(true);
  });

  it("records every failure of each kind, also a success whose result failed", () => {
    const { recorder, memory } = fixedRecorder({ record: FAILURES });
    runInAuditScope(fixedScope({ operation: CREATE }), () => {
      recorder.recordAuthnResult({ method: "jwt", success: false, failureReason: "expired" });
      recorder.recordAuthnResult({
        method: "jwt",
        success: true,
        actor: ALICE_INPUT,
        result: { success: false },
      });
      recorder.recordAuthzDecision({ ...allowed, decision: "denied" });
      recorder.recordAuthzDecision({ ...allowed, decision: "error", errorReason: "timeout" });
      // NO_RULE is recorded even when the call was let through: a method no rule covers is worth seeing.
      recorder.recordAuthzDecision({
        relation: "",
        objectType: "",
        objectId: "",
        decision: "no_rule",
        result: { success: true, code: 0 },
      });
      recorder.recordAuthzDecision({ ...allowed, result: { success: false, code: 7 } });
      recorder.recordResourceAccess({
        resourceType: "project",
        resourceId: "p-1",
        result: { success: false, code: 5 },
      });
    });
    expect(summary(memory.events)).toStrictEqual([
      ["authn", false, "UNAUTHENTICATED"],
      ["authn", false, "UNAUTHENTICATED"],
      ["authz", false, "PERMISSION_DENIED"],
      ["authz", false, "DEADLINE_EXCEEDED"],
      ["authz", true, "OK"],
      ["authz", false, "PERMISSION_DENIED"],
      ["resourceAccess", false, "NOT_FOUND"],
    ]);
    expect(recorder.stats().skipped.byKind).toStrictEqual({
      "authn.result": 0,
      "authz.decision": 0,
      "resource.access": 0,
    });
  });

  it("always records mutations and tuple changes", () => {
    const { recorder, memory } = fixedRecorder({ record: FAILURES });
    recorder.recordResourceMutation({ mutation: "create", resourceType: "project", resourceId: "p-1" });
    recorder.recordTupleChange({
      tuples: [{ operation: "write", user: "user:a", relation: "owner", object: "project:p-1" }],
    });
    expect(summary(memory.events)).toStrictEqual([
      ["resourceMutation", true, "OK"],
      ["tupleChange", true, "OK"],
    ]);
  });

  it("records only the kinds it names as failures-only; the others keep every event", () => {
    const { recorder, memory } = fixedRecorder({ record: { "authz.decision": "failures" } });
    successes(recorder, CREATE, { id: "alice" });
    expect(summary(memory.events)).toStrictEqual([
      ["authn", true, "OK"],
      ["resourceAccess", true, "OK"],
    ]);
    expect(recorder.stats().skipped.counts).toStrictEqual([
      { kind: "authz.decision", actor: "alice", operation: CREATE, count: 1 },
    ]);
  });

  it("still refuses invalid input: it is counted invalid, not skipped", () => {
    const { recorder, errors } = fixedRecorder({ record: FAILURES });
    const bad = { method: "", success: true } as const;
    expect(recorder.recordAuthnResult(bad)).toBe("failed");
    expect(recorder.stats()).toMatchObject({ invalid: 1, skipped: { byKind: { "authn.result": 0 } } });
    expect(errors.map((e) => e.message)).toStrictEqual(["recordAuthnResult: method must not be empty"]);
  });

  it("leaves no gap in the chain: the recorded events are linked seq 1, 2, 3 and verify", async () => {
    const { recorder, memory } = fixedRecorder({ record: FAILURES });
    runInAuditScope(fixedScope({ operation: CREATE }), () => {
      recorder.recordAuthzDecision({ ...allowed, decision: "denied" });
      recorder.recordAuthzDecision(allowed);
      recorder.recordAuthnResult({ method: "jwt", success: true, actor: ALICE_INPUT });
      recorder.recordResourceMutation({ mutation: "create", resourceType: "project", resourceId: "p-1" });
      recorder.recordResourceAccess({ resourceType: "project", resourceId: "p-1" });
      recorder.recordAuthnResult({ method: "jwt", success: false, failureReason: "missing" });
    });
    expect(memory.events.map((e) => e.chain?.seq)).toStrictEqual([1, 2, 3]);
    const report = await verifyChains(memory.events);
    expect(report.ok).toBe(true);
    expect(recorder.stats().skipped.byKind).toStrictEqual({
      "authn.result": 1,
      "authz.decision": 1,
      "resource.access": 1,
    });
  });

  it("keeps at most maxSkippedKeys keys; skips of further keys are counted in overflow and byKind", () => {
    const { recorder } = fixedRecorder({ record: FAILURES, maxSkippedKeys: 2 });
    for (const actor of ["a", "b", "c", "a", "c", "b"]) {
      recorder.recordAuthzDecision({ ...allowed, actor: { id: actor }, operation: GET });
    }
    expect(recorder.stats().skipped).toStrictEqual({
      byKind: { "authn.result": 0, "authz.decision": 6, "resource.access": 0 },
      counts: [
        { kind: "authz.decision", actor: "a", operation: GET, count: 2 },
        { kind: "authz.decision", actor: "b", operation: GET, count: 2 },
      ],
      overflow: 2,
    });
  });

  it("cuts a long actor id and method as events cut them (256 bytes)", () => {
    const { recorder } = fixedRecorder({ record: FAILURES });
    const long = "x".repeat(1000);
    recorder.recordAuthzDecision({ ...allowed, actor: { id: long }, operation: `/${long}` });
    const [entry] = recorder.stats().skipped.counts;
    expect(entry?.actor).toBe(`${"x".repeat(256)}…[truncated 744 bytes]`);
    expect(entry?.operation).toBe(`/${"x".repeat(255)}…[truncated 745 bytes]`);
  });

  it("returns copies from stats(): changing them changes no count", () => {
    const { recorder } = fixedRecorder({ record: FAILURES });
    recorder.recordAuthzDecision({ ...allowed, operation: GET });
    const first = recorder.stats().skipped;
    first.byKind["authz.decision"] = 99;
    const [entry] = first.counts;
    if (entry !== undefined) entry.count = 99;
    recorder.recordAuthzDecision({ ...allowed, operation: GET });
    expect(recorder.stats().skipped.counts).toStrictEqual([
      { kind: "authz.decision", actor: "", operation: GET, count: 2 },
    ]);
    expect(recorder.stats().skipped.byKind["authz.decision"]).toBe(2);
  });
});

describe("record policy options", () => {
  it('takes "all" for every kind, which records everything', () => {
    const { recorder, memory } = fixedRecorder({
      record: {
        "authn.result": "all",
        "authz.decision": "all",
        "resource.access": "all",
        "resource.mutation": "all",
        "tuple.change": "all",
      },
    });
    successes(recorder, CREATE, { id: "alice" });
    expect(memory.events).toHaveLength(3);
    expect(recorder.stats().skipped.counts).toStrictEqual([]);
  });

  const NOT_PLAIN =
    'createRecorder: `record` must be an object of event kind → "all" | "failures" (such as { "authn.result": "failures" }), got ';
  const refused: [string, unknown, string][] = [
    [
      "unknown kinds, naming each",
      { "authn.results": "failures", "authz.decision": "failures", mutation: "all" },
      'createRecorder: `record` names kinds a record policy does not take: "authn.results", "mutation" (it takes authn.result, authz.decision, tuple.change, resource.mutation, resource.access)',
    ],
    [
      "the chain's own checkpoints (the chain writes them)",
      { "chain.checkpoint": "all" },
      'createRecorder: `record` names kinds a record policy does not take: "chain.checkpoint" (it takes authn.result, authz.decision, tuple.change, resource.mutation, resource.access)',
    ],
    [
      "an unknown mode",
      { "authz.decision": "successes" },
      'createRecorder: `record["authz.decision"]` must be "all" or "failures", got "successes"',
    ],
    [
      "a mode that is not a string",
      { "authn.result": false },
      'createRecorder: `record["authn.result"]` must be "all" or "failures", got false',
    ],
    [
      "failures for mutations",
      { "resource.mutation": "failures" },
      'createRecorder: `record["resource.mutation"]` must be "all": a resource.mutation event is the record of a change, which a count cannot replace',
    ],
    [
      "failures for tuple changes",
      { "tuple.change": "failures" },
      'createRecorder: `record["tuple.change"]` must be "all": a tuple.change event is the record of a change, which a count cannot replace',
    ],
    ["an array", ["authn.result"], `${NOT_PLAIN}an array`],
    ["a string", "failures", `${NOT_PLAIN}"failures"`],
    ["null", null, `${NOT_PLAIN}null`],
    // Before the fix these had no own entries to read and recorded everything without a word.
    ["a Map", new Map([["authn.result", "failures"]]), `${NOT_PLAIN}a Map`],
    ["a Date", new Date(0), `${NOT_PLAIN}a Date`],
    [
      "an object inheriting its kinds",
      Object.create({ "authn.result": "failures" }),
      `${NOT_PLAIN}an object inheriting the key "authn.result" (give its kinds as its own keys)`,
    ],
  ];
  it.each(refused)("refuses %s with an AuditConfigError", (_name, record, message) => {
    const make = () => fixedRecorder({ record: record as RecordPolicy });
    expect(make).toThrow(AuditConfigError);
    expect(make).toThrow(message);
  });

  // Before the fix null was taken as the default, and "10" was shown as 10, which reads as valid.
  it.each([
    [-1, "-1"],
    [1.5, "1.5"],
    [Number.NaN, "NaN"],
    ["10", '"10"'],
    [null, "null"],
  ])("refuses maxSkippedKeys %s", (maxSkippedKeys, got) => {
    expect(() => fixedRecorder({ maxSkippedKeys: maxSkippedKeys as number })).toThrow(
      new AuditConfigError(`createRecorder: \`maxSkippedKeys\` must be a whole number ≥ 0, got ${got}`),
    );
  });

  it.each([
    ["Object.create(null)", Object.assign(Object.create(null), { "authn.result": "failures" })],
    [
      "a class instance with its kinds as own keys",
      new (class Policy {
        "authn.result" = "failures";
      })(),
    ],
    ["an object of another realm", runInNewContext('({ "authn.result": "failures" })')],
  ])("takes a policy made with %s", (_name, record: RecordPolicy) => {
    const { recorder, memory } = fixedRecorder({ record });
    successes(recorder, CREATE, { id: "alice" });
    expect(recorder.stats().skipped.byKind).toStrictEqual({
      "authn.result": 1,
      "authz.decision": 0,
      "resource.access": 0,
    });
    expect(summary(memory.events)).toStrictEqual([
      ["authz", true, "OK"],
      ["resourceAccess", true, "OK"],
    ]);
  });

  it("counts by kind only with maxSkippedKeys 0", () => {
    const { recorder } = fixedRecorder({ record: FAILURES, maxSkippedKeys: 0 });
    successes(recorder, CREATE, { id: "alice" });
    expect(recorder.stats().skipped).toStrictEqual({
      byKind: { "authn.result": 1, "authz.decision": 1, "resource.access": 1 },
      counts: [],
      overflow: 3,
    });
  });
});
