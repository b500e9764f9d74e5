/**
 * The last record.summary, written by close(), refused by a full delivery queue. A refused summary
 * leaves its counts to the next one, but at close there is no next one: its window of skips never
 * reached the trail, so summing the delivered summaries no longer gave stats().skipped. close() now
 * waits for the queue to be written out and writes that summary again, as it does for the final
 * checkpoint. (Found by the accounting-invariants test.)
 */
import { describe, expect, it } from "vitest";
import { runInAuditScope } from "../../src/context/scope.js";
import { createDeliveryEmitter, type OverflowPolicy } from "../../src/delivery/index.js";
import { ActorType } from "../../src/gen/grpcaudit/v1/event.js";
import type { Recorder } from "../../src/recorder/recorder.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { fixedRecorder, fixedScope, summarized } from "../helpers/recorder.js";

function allowedReads(recorder: Recorder, times: number): void {
  const scope = fixedScope({
    operation: "/example.v1.ProjectService/GetProject",
    actor: { id: "alice", type: ActorType.ACTOR_TYPE_USER } as never,
  });
  runInAuditScope(scope, () => {
    for (let i = 0; i < times; i++) {
      recorder.recordAuthzDecision({
        relation: "viewer",
        objectType: "project",
        objectId: "p-1",
        decision: "allowed",
      });
    }
  });
}

describe("the last record summary, refused by a full queue at close", () => {
  it.each([
    ["drop-newest", "dropped"],
    ["fail-rpc", "failed"],
  ] as const)(
    "is written again once the queue is written out (%s)",
    async (overflow: OverflowPolicy, refused) => {
      const sink = createFakeSink();
      sink.mode = "hold";
      const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, maxQueueEvents: 1, overflow });
      const { recorder } = fixedRecorder({ emitters: [emitter], record: { "authz.decision": "failures" } });
      // A denied decision is recorded: its write is held, so it fills the queue.
      expect(
        recorder.recordAuthzDecision({
          relation: "viewer",
          objectType: "project",
          objectId: "p-2",
          decision: "denied",
        }),
      ).toBe("accepted");
      await until(() => sink.held.length === 1);
      allowedReads(recorder, 3);

      const closing = recorder.close(); // its summary finds the queue full
      expect(recorder.stats()).toMatchObject({ recorded: { "record.summary": 1 }, [refused]: 1 });
      sink.mode = "ack";
      sink.ackHeld();
      expect(await closing).toMatchObject({ ok: true });

      const delivered = sink.received.flat();
      expect(summarized(delivered)).toBe(3);
      expect(recorder.stats()).toMatchObject({
        skipped: { byKind: { "authz.decision": 3 } },
        recorded: { "authz.decision": 1, "record.summary": 2 },
        accepted: 2,
        [refused]: 1,
      });
    },
  );
});
