/**
 * A chain.checkpoint that the delivery queue accepted must reach the sink: the Recorder counts it as
 * written, and `verify --sealed` needs the final one. "drop-oldest" used to evict a queued checkpoint
 * to make room for a newer event, and "park" parked one and dropped it once park.timeoutMs had passed,
 * both after emit had answered "accepted". Now a checkpoint is never evicted (newer events behind
 * it are) and never parked (refused at once, so the Recorder sees "dropped"), as record
 * summaries. Every gap left in the trail is then an event that emit refused or that drop-oldest
 * evicted, counted in stats().
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { createDeliveryEmitter, type OverflowPolicy } from "../../src/delivery/index.js";
import type { EmitOutcome, Emitter } from "../../src/emitters/emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { KEY_ID, PUBLIC_KEYS, recordMutations, SIGNING_KEY } from "./trail.js";

afterEach(() => {
  vi.useRealTimers();
});

/** Passes every event to `inner` and keeps what emit answered, by chain seq. */
function outcomesOf(inner: Emitter): { emitter: Emitter; outcomes: Map<number, [string, EmitOutcome]> } {
  const outcomes = new Map<number, [string, EmitOutcome]>();
  const emitter: Emitter = {
    ...inner,
    emit(event: AuditEvent) {
      const outcome = inner.emit(event);
      outcomes.set(event.chain?.seq ?? 0, [event.detail?.$case ?? "", outcome]);
      return outcome;
    },
  };
  return { emitter, outcomes };
}

/**
 * A Recorder signing a checkpoint every `checkpointEvery` events into a delivery emitter of `maxQueueEvents` whose
 * sink holds its writes; the first event is already being written (held), so it fills one place.
 */
async function recorderOverFullQueue(overflow: OverflowPolicy, maxQueueEvents: number, checkpointEvery = 2) {
  const sink = createFakeSink();
  sink.mode = "hold";
  // A parked event gets no time at all: it is dropped at the next turn unless room came.
  const delivery = createDeliveryEmitter({
    sink,
    flushIntervalMs: 0,
    maxQueueEvents,
    overflow,
    park: { timeoutMs: 0 },
  });
  const { emitter, outcomes } = outcomesOf(delivery);
  const recorder = createRecorder({
    service: "projects",
    emitters: [emitter],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery },
  });
  recordMutations(recorder, 1);
  await until(() => sink.held.length === 1);
  return { recorder, sink, delivery, outcomes };
}

/** Seqs whose emit was answered `outcome`, and those of them that were checkpoints. */
function seqsAnswered(outcomes: Map<number, [string, EmitOutcome]>, outcome: EmitOutcome, only?: string) {
  return [...outcomes]
    .filter(([, [detail, answer]]) => answer === outcome && (only === undefined || detail === only))
    .map(([seq]) => seq);
}

describe("chain checkpoints in a full delivery queue", () => {
  it("drop-oldest never evicts an accepted checkpoint: it evicts the newer events behind it", async () => {
    const { recorder, sink, delivery, outcomes } = await recorderOverFullQueue("drop-oldest", 3);
    // seq 2 and the checkpoint seq 3 fill the queue; seq 4 evicts seq 2; seq 5 evicts seq 4, past the
    // checkpoint oldest in the queue, and the checkpoint seq 6 evicts seq 5.
    recordMutations(recorder, 3, 2);
    expect(delivery.stats().droppedByReasonAndKind).toStrictEqual({
      queue_full: { "resource.mutation": 3 },
    });

    sink.mode = "ack";
    sink.ackHeld();
    // Room for the final checkpoint: in a queue still full it would be refused (and counted) too.
    expect(await delivery.flush()).toMatchObject({ ok: true });
    await recorder.close();

    const delivered = sink.received.flat();
    const checkpointsDelivered = delivered
      .filter((e) => e.detail?.$case === "checkpoint")
      .map((e) => e.chain?.seq);
    expect(checkpointsDelivered).toStrictEqual(seqsAnswered(outcomes, "accepted", "checkpoint"));
    expect(checkpointsDelivered).toStrictEqual([3, 6, 7]);
    // The trail is sealed; its only gaps are the events the queue refused or evicted, all counted.
    const report = await verifyChains(delivered, { publicKeys: PUBLIC_KEYS, expectSealed: true });
    expect(
      report.chains.map((c) => [c.sealed, c.verifiedCheckpoints, c.findings.map((f) => f.kind)]),
    ).toStrictEqual([[true, 3, ["missing", "missing"]]]);
    expect(report.chains[0]?.findings.map((f) => [f.seq, f.toSeq])).toStrictEqual([
      [2, 2],
      [4, 5],
    ]);
    expect(seqsAnswered(outcomes, "dropped")).toStrictEqual([]);
    expect(recorder.stats()).toMatchObject({ accepted: 7, dropped: 0 });
    expect(delivery.stats().droppedAfterAccept).toBe(3);
  });

  it("park refuses a checkpoint at once instead of parking it; close writes the final one again once the queue is out", async () => {
    const { recorder, sink, delivery, outcomes } = await recorderOverFullQueue("park", 2, 1000);
    recordMutations(recorder, 1, 2); // fills the queue
    const closing = recorder.close(); // the final checkpoint finds the queue full
    // Parked, it would have been accepted, then dropped once its time was up.
    await until(() => delivery.stats().parkedEvents === 0);
    expect(outcomes.get(3)).toStrictEqual(["checkpoint", "dropped"]);
    sink.mode = "ack";
    sink.ackHeld();
    await closing;

    expect(outcomes.get(4)).toStrictEqual(["checkpoint", "accepted"]);
    expect(delivery.stats().droppedByReasonAndKind).toStrictEqual({ queue_full: { "chain.checkpoint": 1 } });
    expect(recorder.stats()).toMatchObject({ accepted: 3, dropped: 1 });
    const delivered = sink.received.flat();
    expect(delivered.map((e) => e.chain?.seq)).toStrictEqual([1, 2, 4]);
    // Sealed: the refused checkpoint is a counted gap, not a truncated trail.
    const report = await verifyChains(delivered, { publicKeys: PUBLIC_KEYS, expectSealed: true });
    expect(report.chains.map((c) => [c.sealed, c.findings.map((f) => [f.kind, f.seq])])).toStrictEqual([
      [true, [["missing", 3]]],
    ]);
  });

  it("a final checkpoint one emitter refused and another took leaves both trails sealed", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const full = createDeliveryEmitter({ sink, flushIntervalMs: 0, maxQueueEvents: 2 });
    const other = createFakeSink();
    const recorder = createRecorder({
      service: "projects",
      emitters: [full, createDeliveryEmitter({ sink: other, flushIntervalMs: 0 })],
      chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 1000 },
    });
    recordMutations(recorder, 1);
    await until(() => sink.held.length === 1);
    recordMutations(recorder, 1, 2); // the place left in `full`'s queue (the held write takes one)
    const closing = recorder.close(); // `full` refuses the final checkpoint seq 3, `other` takes it
    sink.mode = "ack";
    sink.ackHeld();
    await closing;

    const trails = [sink.received.flat(), other.received.flat()];
    expect(trails.map((trail) => trail.map((e) => e.chain?.seq))).toStrictEqual([
      [1, 2, 4],
      [1, 2, 3, 4],
    ]);
    for (const trail of trails) {
      const report = await verifyChains(trail, { publicKeys: PUBLIC_KEYS, expectSealed: true });
      expect(report.chains.map((c) => [c.sealed, c.findings.map((f) => f.kind)])).toStrictEqual([
        [true, trail.length === 3 ? ["missing"] : []],
      ]);
    }
  });
});
