// Record calls after close() with an emitter that stays open: the shared-emitter wrapper the docs
// recommend ({ close: () => shared.flush() }). They used to be accepted and written after the final
// checkpoint, unchained, so `verify --sealed` failed; close() promises they are dropped and counted.
import { describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { pendingRecordsOf } from "../../src/recorder/pending-records.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import { KEY_ID, PUBLIC_KEYS, SIGNING_KEY } from "../chain/trail.js";

/** One record call of each kind; their outcomes. */
function recordEach(recorder: Recorder, id: string): string[] {
  return [
    recorder.recordAuthnResult({ method: "jwt", success: true, actor: { id: "alice" } }),
    recorder.recordAuthzDecision({
      relation: "viewer",
      objectType: "project",
      objectId: id,
      decision: "allowed",
    }),
    recorder.recordTupleChange({
      tuples: [{ operation: "write", user: "user:alice", relation: "viewer", object: `project:${id}` }],
    }),
    recorder.recordResourceMutation({ mutation: "update", resourceType: "project", resourceId: id }),
    recorder.recordResourceAccess({ resourceType: "project", resourceId: id }),
  ];
}

describe("record calls after close()", () => {
  it("are dropped and counted by the Recorder when its emitter stays open; calls in flight during the wait are still recorded", async () => {
    const reported: string[] = [];
    const shared = createMemoryEmitter();
    const wrapper = {
      name: "shared-a",
      emit: (event: Parameters<typeof shared.emit>[0]) => shared.emit(event),
      flush: () => shared.flush(),
      stats: () => shared.stats(),
      close: () => shared.flush(),
    };
    const recorder = createRecorder({
      service: "projects",
      emitters: [wrapper],
      // Successes a policy would skip are dropped too after close: no summary can count them.
      record: { "authn.result": "failures", "authz.decision": "failures", "resource.access": "failures" },
      chain: { signingKey: SIGNING_KEY, keyId: KEY_ID },
      onError: (error) => reported.push(error.message),
    });
    expect(recordEach(recorder, "p-1")).toStrictEqual([
      "accepted",
      "accepted",
      "accepted",
      "accepted",
      "accepted",
    ]);

    // A call in flight: close() waits for it, and its record, made during the wait, is chained and sealed.
    const pending = pendingRecordsOf(recorder);
    pending.add();
    const closing = recorder.close();
    await Promise.resolve();
    expect(
      recorder.recordResourceMutation({ mutation: "delete", resourceType: "project", resourceId: "p-2" }),
    ).toBe("accepted");
    pending.done();
    expect((await closing).ok).toBe(true);

    const written = shared.events.length;
    const before = recorder.stats();
    expect(recordEach(recorder, "p-3")).toStrictEqual([
      "dropped",
      "dropped",
      "dropped",
      "dropped",
      "dropped",
    ]);
    const after = recorder.stats();
    expect(shared.events).toHaveLength(written); // nothing reached the emitter
    expect([after.dropped - before.dropped, after.accepted - before.accepted]).toStrictEqual([5, 0]);
    // The first is reported (a shutdown-order bug), the others only counted.
    expect(reported).toStrictEqual([
      "recorder: a record call after close() was dropped (counted in stats().dropped; later ones are counted, not reported). " +
        "Shut the server down before close(), or raise closeWaitMs for calls still in flight",
    ]);
    expect(after.skipped).toStrictEqual(before.skipped); // not reached the policy either
    expect(after.emitter.dropped).toStrictEqual({});
    expect(shared.events.map((event) => [event.detail?.$case, event.chain?.seq])).toStrictEqual([
      ["tupleChange", 1],
      ["resourceMutation", 2],
      ["resourceMutation", 3],
      ["recordSummary", 4],
      ["checkpoint", 5],
    ]);
    const report = await verifyChains(shared.events, { publicKeys: PUBLIC_KEYS, expectSealed: true });
    expect([report.ok, report.unchained, report.chains.map((chain) => chain.sealed)]).toStrictEqual([
      true,
      0,
      [true],
    ]);
  });
});
