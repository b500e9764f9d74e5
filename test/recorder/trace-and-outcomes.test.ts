import { describe, expect, it } from "vitest";
import { runInAuditScope } from "../../src/context/scope.js";
import type { TraceIds } from "../../src/recorder/trace-ids.js";
import { fixedRecorder, fixedScope } from "../helpers/recorder.js";

const ACTIVE = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" };
const mutation = { mutation: "create", resourceType: "project", resourceId: "p-1" } as const;

describe("Recorder traceContext option", () => {
  it("takes the active span's ids over the call's traceparent ids", () => {
    const { recorder, memory } = fixedRecorder({ traceContext: () => ACTIVE });
    runInAuditScope(fixedScope(), () => recorder.recordResourceMutation(mutation));
    const [event] = memory.events;
    expect([event?.traceId, event?.spanId]).toStrictEqual([ACTIVE.traceId, ACTIVE.spanId]);
  });

  it("fills trace ids outside an RPC too, and a record input's own ids still win", () => {
    const { recorder, memory } = fixedRecorder({ traceContext: () => ACTIVE });
    recorder.recordResourceMutation(mutation);
    recorder.recordResourceMutation({ ...mutation, traceId: "1".repeat(32), spanId: "2".repeat(16) });
    expect(memory.events.map((e) => [e.traceId, e.spanId])).toStrictEqual([
      [ACTIVE.traceId, ACTIVE.spanId],
      ["1".repeat(32), "2".repeat(16)],
    ]);
  });

  it("falls back to traceparent when no span is active, the ids are invalid, or the reader throws", () => {
    const answers: (() => unknown)[] = [
      () => undefined,
      () => ({ traceId: "0".repeat(32), spanId: ACTIVE.spanId }),
      () => ({ traceId: ACTIVE.traceId.toUpperCase(), spanId: ACTIVE.spanId }),
      () => ({ traceId: ACTIVE.traceId }),
      () => "not ids",
      () => {
        throw new Error("tracer broken");
      },
      () => {
        throw new Error("tracer broken again");
      },
    ];
    let next = 0;
    const { recorder, memory, errors } = fixedRecorder({
      traceContext: () => answers[next++]?.() as TraceIds | undefined,
    });
    const scope = fixedScope();
    for (const _ of answers) runInAuditScope(scope, () => recorder.recordResourceMutation(mutation));
    expect(memory.events.map((e) => [e.traceId, e.spanId])).toStrictEqual(
      answers.map(() => [scope.traceId, scope.spanId]),
    );
    expect(errors.map((e) => [e.message, (e.cause as Error).message])).toStrictEqual([
      ["recorder: traceContext() threw", "tracer broken"],
    ]);
    expect(recorder.stats().accepted).toBe(answers.length);
  });

  it("refuses a traceContext that is not a function", () => {
    expect(() => fixedRecorder({ traceContext: "otel" as unknown as () => undefined })).toThrow(
      "createRecorder: `traceContext` must be a function",
    );
  });
});

describe("Recorder authn and authz outcome counts", () => {
  it("counts authn attempts by outcome and authz decisions by decision, valid inputs only", () => {
    const { recorder } = fixedRecorder();
    recorder.recordAuthnResult({ method: "jwt", success: true });
    recorder.recordAuthnResult({ method: "jwt", success: true });
    recorder.recordAuthnResult({ method: "jwt", success: false, failureReason: "expired" });
    recorder.recordAuthnResult({ method: "jwt", success: false, failureReason: "bogus" as "expired" });
    const check = { relation: "editor", objectType: "project", objectId: "p-1" };
    recorder.recordAuthzDecision({ ...check, decision: "allowed" });
    recorder.recordAuthzDecision({ ...check, decision: "denied" });
    recorder.recordAuthzDecision({ ...check, decision: "denied" });
    recorder.recordAuthzDecision({ relation: "", objectType: "", objectId: "", decision: "no_rule" });
    recorder.recordAuthzDecision({ ...check, decision: "maybe" as "denied" });
    const { authn, authz, invalid } = recorder.stats();
    expect({ authn, authz, invalid }).toStrictEqual({
      authn: { success: 2, expired: 1 },
      authz: { allowed: 1, denied: 2, no_rule: 1, error: 0 },
      invalid: 2,
    });
  });

  it("counts the successes a record policy skips too: the counts are attempts, not events", () => {
    const { recorder } = fixedRecorder({
      record: { "authn.result": "failures", "authz.decision": "failures" },
    });
    recorder.recordAuthnResult({ method: "jwt", success: true });
    recorder.recordAuthnResult({ method: "jwt", success: false, failureReason: "expired" });
    const check = { relation: "editor", objectType: "project", objectId: "p-1" };
    recorder.recordAuthzDecision({ ...check, decision: "allowed" });
    recorder.recordAuthzDecision({ ...check, decision: "denied" });
    const { authn, authz, recorded, skipped } = recorder.stats();
    expect({
      authn,
      authz,
      recorded: recorded["authn.result"] + recorded["authz.decision"],
      skipped: skipped.byKind,
    }).toStrictEqual({
      authn: { success: 1, expired: 1 },
      authz: { allowed: 1, denied: 1, no_rule: 0, error: 0 },
      recorded: 2,
      skipped: { "authn.result": 1, "authz.decision": 1, "resource.access": 0 },
    });
  });
});
