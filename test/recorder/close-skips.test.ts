// a success the record policy would skip, recorded after close() began, used to return
// "accepted" and be counted in stats().skipped, though the last summary had been written: the trail
// never held it (summing the summaries no longer gave stats().skipped), and a fail-closed read let the
// call through while every other event after close is refused. close() promises "later record calls
// are dropped and counted".
import { describe, expect, it } from "vitest";
import { createAuditScope, runInAuditScope } from "../../src/context/scope.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { toActor } from "../../src/event/builders.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import { summarized } from "../helpers/recorder.js";

const FAILURES = {
  "authn.result": "failures",
  "authz.decision": "failures",
  "resource.access": "failures",
} as const;

/** One success of each skippable kind, recorded inside a call of alice; their outcomes. */
function successes(recorder: Recorder): string[] {
  const scope = createAuditScope({ operation: "/example.v1.ProjectService/GetProject" });
  scope.actor = toActor({ id: "alice" });
  return runInAuditScope(scope, () => [
    recorder.recordAuthnResult({ method: "jwt", success: true, actor: { id: "alice" } }),
    recorder.recordAuthzDecision({
      relation: "viewer",
      objectType: "project",
      objectId: "p-1",
      decision: "allowed",
    }),
    recorder.recordResourceAccess({ resourceType: "project", resourceId: "p-1" }),
  ]);
}

describe("skips after close", () => {
  it("drops and counts skippable successes recorded while and after closing; the summaries sum to stats().skipped", async () => {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "projects", emitters: [memory], record: FAILURES });
    expect(successes(recorder)).toStrictEqual(["accepted", "accepted", "accepted"]);
    const closing = recorder.close();
    expect(successes(recorder)).toStrictEqual(["dropped", "dropped", "dropped"]); // while closing
    await closing;
    expect(successes(recorder)).toStrictEqual(["dropped", "dropped", "dropped"]); // after
    await recorder.close(); // twice: nothing more to write

    const stats = recorder.stats();
    expect(stats.skipped.byKind).toStrictEqual({
      "authn.result": 1,
      "authz.decision": 1,
      "resource.access": 1,
    });
    expect(summarized(memory.events)).toBe(3);
    expect([stats.accepted, stats.dropped, stats.failed]).toStrictEqual([1, 6, 0]); // 1 summary accepted
    expect(stats.emitter.dropped).toStrictEqual({}); // dropped by the Recorder: none reached the emitter
    // Every attempt is still counted by outcome.
    expect([stats.authn.success, stats.authz.allowed]).toStrictEqual([3, 3]);
  });
});
