import { describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { runInAuditScope } from "../../src/context/scope.js";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { decodeEvent, encodeEvent, eventToJson } from "../../src/event/serialize.js";
import { type AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import { KEY_ID, PUBLIC_KEYS, SIGNING_KEY } from "../chain/trail.js";
import { fixedRecorder, fixedScope } from "../helpers/recorder.js";

/** One event of each kind a record method makes, in a call, then the close (summary, final checkpoint). */
async function recordEveryKind(recorder: Recorder): Promise<void> {
  runInAuditScope(fixedScope(), () => {
    recorder.recordAuthnResult({ method: "jwt", success: true, actor: { id: "alice" } });
    recorder.recordAuthzDecision({
      relation: "viewer",
      objectType: "project",
      objectId: "p-1",
      decision: "allowed",
    });
    recorder.recordAuthzDecision({
      relation: "editor",
      objectType: "project",
      objectId: "p-1",
      decision: "denied",
    });
    recorder.recordTupleChange({
      tuples: [{ operation: "write", user: "user:bob", relation: "viewer", object: "project:p-1" }],
    });
    recorder.recordResourceMutation({ mutation: "update", resourceType: "project", resourceId: "p-1" });
    recorder.recordResourceAccess({ resourceType: "project", resourceId: "p-1" });
  });
  expect((await recorder.close()).ok).toBe(true);
}

/** A Recorder that also writes checkpoints (every 2 events) and summaries (of the skipped "allowed"). */
function everyKindRecorder(instance?: string) {
  return fixedRecorder({
    ...(instance === undefined ? {} : { instance }),
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 2 },
    record: { "authz.decision": "failures" },
  });
}

const ALL_TYPES = [
  EventType.EVENT_TYPE_AUTHN_RESULT,
  EventType.EVENT_TYPE_AUTHZ_DECISION,
  EventType.EVENT_TYPE_TUPLE_CHANGED,
  EventType.EVENT_TYPE_RESOURCE_MUTATION,
  EventType.EVENT_TYPE_RESOURCE_ACCESS,
  EventType.EVENT_TYPE_CHAIN_CHECKPOINT,
  EventType.EVENT_TYPE_RECORD_SUMMARY,
].sort();

const typesOf = (events: readonly AuditEvent[]) =>
  [...new Set(events.map((event) => event.eventType))].sort();

describe("RecorderOptions.instance", () => {
  it("is written into every event the Recorder builds, checkpoints and summaries included", async () => {
    const { recorder, memory, errors } = everyKindRecorder("pod-7");
    await recordEveryKind(recorder);
    expect(errors).toStrictEqual([]);
    expect(typesOf(memory.events)).toStrictEqual(ALL_TYPES);
    expect(memory.events.map((event) => [event.eventType, event.instance])).toStrictEqual(
      memory.events.map((event) => [event.eventType, "pod-7"]),
    );
    // And it travels: in the proto3 JSON of log lines and in the protobuf bytes of brokers and stores.
    for (const event of memory.events) {
      expect(eventToJson(event).instance).toBe("pod-7");
      expect(decodeEvent(encodeEvent(event)).instance).toBe("pod-7");
    }
  });

  it("is left out by default: events have an empty instance, and their JSON no key for it", async () => {
    const { recorder, memory } = everyKindRecorder();
    await recordEveryKind(recorder);
    expect(typesOf(memory.events)).toStrictEqual(ALL_TYPES);
    for (const event of memory.events) {
      expect(event.instance).toBe("");
      expect(Object.keys(eventToJson(event))).not.toContain("instance");
    }
  });

  it("is covered by the chain hash: an event moved to another instance is found modified", async () => {
    const { recorder, memory } = everyKindRecorder("pod-7");
    await recordEveryKind(recorder);
    const moved = memory.events.map((event, i) => (i === 1 ? { ...event, instance: "pod-9" } : event));
    const report = await verifyChains(moved, { publicKeys: PUBLIC_KEYS });
    expect(report.chains.map((chain) => chain.findings.map(({ kind, seq }) => [kind, seq]))).toStrictEqual([
      [["modified", 2]],
    ]);
  });

  it.each([
    ["a host name", "api-7f9c4d-x2x5q"],
    ["128 UTF-8 bytes", "x".repeat(128)],
    ["64 two-byte characters", "é".repeat(64)],
    ["inner spaces", "pod 7 (eu-west-1)"],
  ])("accepts %s", (_name, instance) => {
    const { recorder, memory } = fixedRecorder({ instance });
    recorder.recordResourceMutation({ mutation: "create", resourceType: "project", resourceId: "p-1" });
    expect(memory.events[0]?.instance).toBe(instance);
  });

  it.each([
    ["an empty string", "", '""'],
    ["a blank string", "  ", '"  "'],
    ["a newline", "pod-7\nchain x (projects) verified", '"pod-7\\nchain x (projects) verified"'],
    ["a NUL", "pod\u00007", '"pod\\u00007"'],
    ["a DEL", "pod\u007f7", '"pod\u007f7"'],
    ["129 UTF-8 bytes", "x".repeat(129), `"${"x".repeat(40)}…"`],
    ["65 two-byte characters", "é".repeat(65), `"${"é".repeat(40)}…"`],
    ["a lone surrogate", "pod-\ud8007", '"pod-\\ud8007"'],
    ["a number", 7, "7"],
    ["null", null, "null"],
  ])("refuses %s, naming the option", (_name, instance, shown) => {
    const create = () =>
      createRecorder({ service: "projects", emitters: [createNoopEmitter()], instance: instance as string });
    expect(create).toThrow(AuditConfigError);
    // An error object: its message must be equal, not merely contain this.
    expect(create).toThrow(
      new AuditConfigError(
        `createRecorder: \`instance\` must be a non-blank string of up to 128 UTF-8 bytes without control characters, such as a host or pod name, got ${shown}`,
      ),
    );
  });
});
