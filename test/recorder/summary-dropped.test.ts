/**
 * A record.summary event the delivery queue drops. Its window of skips used to be marked written all
 * the same, so those counts never reached the trail: summing the delivered summaries no longer gave
 * stats().skipped. A summary the emitter drops leaves its counts to the next summary; drop-oldest
 * never gives up a queued summary for a newer event, and park refuses a summary rather than parking it
 * (it could be dropped after it was accepted).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { runInAuditScope } from "../../src/context/scope.js";
import { createDeliveryEmitter, type OverflowPolicy } from "../../src/delivery/index.js";
import type { Emitter } from "../../src/emitters/emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { ActorType } from "../../src/gen/grpcaudit/v1/event.js";
import type { Recorder } from "../../src/recorder/recorder.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { FIXED_TIME, fixedRecorder, fixedScope, summarized } from "../helpers/recorder.js";

const GET = "/example.v1.ProjectService/GetProject";

afterEach(() => {
  vi.useRealTimers();
});

/** `times` allowed reads of a project by alice, skipped by the "failures" policy. */
function allowedReads(recorder: Recorder, times: number): void {
  const scope = fixedScope({
    operation: GET,
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

function denied(recorder: Recorder): string {
  return recorder.recordAuthzDecision({
    relation: "viewer",
    objectType: "project",
    objectId: "p-2",
    decision: "denied",
  });
}

/**
 * A Recorder that skips allowed decisions, writing a summary every 1000 ms of the faked interval
 * timers, into a delivery emitter of `maxQueueEvents` whose sink holds its first write.
 */
async function recorderOverFullQueue(overflow: OverflowPolicy, maxQueueEvents: number) {
  vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
  const sink = createFakeSink();
  sink.mode = "hold";
  // A parked event gets no time at all: it is dropped at the next turn unless room came.
  const park = { timeoutMs: 0 };
  const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, maxQueueEvents, overflow, park });
  const { recorder } = fixedRecorder({
    emitters: [emitter],
    record: { "authz.decision": "failures" },
    summaryEveryMs: 1000,
  });
  // The first event is being written (and held): it fills one place of the queue until acknowledged.
  expect(denied(recorder)).toBe("accepted");
  await until(() => sink.held.length === 1);
  return { recorder, sink, emitter };
}

describe("a record.summary the delivery queue drops", () => {
  it.each([
    ["drop-newest", "drop-newest"],
    ["park, which refuses a summary rather than parking it", "park"],
  ] as const)("leaves its counts to the next summary when refused under %s", async (_, overflow) => {
    const { recorder, sink, emitter } = await recorderOverFullQueue(overflow, 1);
    allowedReads(recorder, 2);
    vi.advanceTimersByTime(1000); // the queue is full: this summary is dropped
    // Parked, it would have been accepted, then dropped once its time was up.
    await until(() => emitter.stats().parkedEvents === 0);
    expect(emitter.stats().droppedByReasonAndKind).toStrictEqual({ queue_full: { "record.summary": 1 } });

    sink.mode = "ack";
    sink.ackHeld();
    expect(await emitter.flush()).toMatchObject({ ok: true });
    allowedReads(recorder, 1);
    await recorder.close();

    const delivered = sink.received.flat();
    expect(summarized(delivered)).toBe(3);
    expect(recorder.stats()).toMatchObject({
      skipped: { byKind: { "authz.decision": 3 } },
      recorded: { "authz.decision": 1, "record.summary": 2 },
      accepted: 2,
      dropped: 1,
    });
  });

  it("keeps a queued summary when drop-oldest needs room for a newer event, which is dropped instead", async () => {
    const { recorder, sink, emitter } = await recorderOverFullQueue("drop-oldest", 2);
    allowedReads(recorder, 2);
    vi.advanceTimersByTime(1000); // the summary takes the last place in the queue
    expect(denied(recorder)).toBe("dropped");
    expect(emitter.stats().droppedByReasonAndKind).toStrictEqual({ queue_full: { "authz.decision": 1 } });

    sink.mode = "ack";
    sink.ackHeld();
    expect(await emitter.flush()).toMatchObject({ ok: true });
    await recorder.close();

    expect(summarized(sink.received.flat())).toBe(2);
    expect(recorder.stats()).toMatchObject({ skipped: { byKind: { "authz.decision": 2 } }, dropped: 1 });
  });

  it("leaves only the counts of the refused part of a window cut into several summaries to the next one", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const memory = createMemoryEmitter();
    let summaries = 0;
    // Refuses the second summary event it is given, as a full queue would.
    const refusingSecond: Emitter = {
      ...memory,
      emit: (event) =>
        event.detail?.$case === "recordSummary" && ++summaries === 2 ? "dropped" : memory.emit(event),
    };
    let clock = FIXED_TIME.getTime();
    const { recorder } = fixedRecorder({
      emitters: [refusingSecond],
      record: { "resource.access": "failures" },
      summaryEveryMs: 1000,
      now: () => new Date(clock),
    });
    for (let i = 0; i < 1_200; i++) {
      recorder.recordResourceAccess({ resourceType: "project", resourceId: "p", actor: { id: `u-${i}` } });
    }
    clock += 1000;
    vi.advanceTimersByTime(1000); // three summaries of 500, 500 and 200 keys; the second is refused
    recorder.recordResourceAccess({ resourceType: "project", resourceId: "p", actor: { id: "u-0" } });
    clock += 1000;
    await recorder.close();

    const written = memory.events.flatMap((e) =>
      e.detail?.$case === "recordSummary" ? [e.detail.value] : [],
    );
    expect(written.map((d) => [d.counts.length, d.counts[0]?.actorId, d.since])).toStrictEqual([
      [500, "u-0", FIXED_TIME],
      [200, "u-1000", FIXED_TIME],
      // The later skip of u-0, then the refused part (u-500 to u-999): the window they came from had
      // not been written whole, so it still starts when the Recorder was created.
      [500, "u-0", FIXED_TIME],
      [1, "u-999", FIXED_TIME],
    ]);
    expect(summarized(memory.events)).toBe(1_201);
    expect(recorder.stats()).toMatchObject({ skipped: { byKind: { "resource.access": 1_201 } }, dropped: 1 });
  });
});
