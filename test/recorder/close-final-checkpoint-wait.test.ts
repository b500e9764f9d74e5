/**
 * Recorder.close() writes the final checkpoint again after a flush when a full queue refused it. That
 * flush gave up after the emitter's flushTimeoutMs, shorter than a slow sink's write: the second
 * checkpoint was refused too, the trail ended without a final checkpoint (`verify --sealed`:
 * truncated), and the report said only "timeout", naming no lost checkpoint. Flushes are now repeated
 * for up to closeWaitMs; a final checkpoint still refused then is a "recorder" result with an error.
 * A flush that only ran out of time no longer makes the report "timeout" once the close drained all.
 */
import { expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { AuditError } from "../../src/errors/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { KEY_ID, PUBLIC_KEYS, recordMutations, SIGNING_KEY } from "../chain/trail.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";

/**
 * A Recorder over a delivery emitter whose flush gives up after 100 ms and whose queue (2 events) is
 * full: one event is being written (held by the sink), one is queued. The final checkpoint finds no
 * room; `onDrop` hears of each event the queue refuses.
 */
async function recorderOverHeldSink(closeWaitMs: number, onDrop: () => void) {
  const sink = createFakeSink();
  sink.mode = "hold";
  const emitter = createDeliveryEmitter({
    sink,
    flushIntervalMs: 0,
    maxQueueEvents: 2,
    maxBatchEvents: 1,
    flushTimeoutMs: 100,
    warnIntervalMs: 0,
    onError: onDrop,
  });
  const errors: Error[] = [];
  const recorder = createRecorder({
    service: "projects",
    emitters: [emitter],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 1000 },
    closeWaitMs,
    onError: (error) => errors.push(error),
  });
  recordMutations(recorder, 2);
  await until(() => sink.held.length === 1);
  /** Lets the sink take every write, the held one first. */
  const release = () => {
    sink.mode = "ack";
    sink.ackHeld();
  };
  return { recorder, sink, errors, release };
}

it("flushes again until the final checkpoint gets in, and reports ok when the close wrote everything", async () => {
  let drops = 0;
  const { recorder, sink, errors, release } = await recorderOverHeldSink(10_000, () => {
    // The first checkpoint is refused, then the second, after a flush that timed out: the sink
    // comes back only then.
    if (++drops === 2) release();
  });

  const report = await recorder.close();

  expect(report).toStrictEqual({
    ok: true,
    results: [{ emitter: "fake", status: "ok", pending: 0 }],
    pending: 0,
    delivered: 1,
    spooled: 0,
    dropped: 0,
  });
  expect(drops).toBe(2);
  expect(errors).toStrictEqual([]);
  const delivered = sink.received.flat();
  expect(delivered.map((e) => [e.chain?.seq, e.detail?.$case])).toStrictEqual([
    [1, "resourceMutation"],
    [2, "resourceMutation"],
    [5, "checkpoint"],
  ]);
  // Sealed: the refused checkpoints (seqs 3 and 4) are gaps the final one covers.
  const verified = await verifyChains(delivered, { publicKeys: PUBLIC_KEYS, expectSealed: true });
  expect(
    verified.chains.map((c) => [c.sealed, c.findings.map((f) => [f.kind, f.seq, f.toSeq])]),
  ).toStrictEqual([[true, [["missing", 3, 4]]]]);
});

it("reports the final checkpoint lost when the queue stayed full for closeWaitMs", async () => {
  const { recorder, sink, errors, release } = await recorderOverHeldSink(0, () => {});
  const message =
    "recorder: the emitters dropped the final chain checkpoint, their queue still full after closeWaitMs (0 ms) of flushes; " +
    "verify --sealed will report the chain as truncated";
  const closing = recorder.close();
  // Once the Recorder gave up on the checkpoint, the emitter's close drains the rest.
  await until(() => errors.length === 1);
  release();

  const report = await closing;

  expect(report).toStrictEqual({
    ok: false,
    results: [
      { emitter: "fake", status: "ok", pending: 0 },
      { emitter: "recorder", status: "error", error: new AuditError(message) },
    ],
    pending: 0,
    delivered: 2,
    spooled: 0,
    dropped: 0,
  });
  expect(errors).toStrictEqual([new AuditError(message)]);
  expect(sink.receivedIds()).toHaveLength(2);
});

it("names an emitter closed before the Recorder as why the final checkpoint was lost, and does not wait for it", async () => {
  // The shutdown delivery.md once showed: the user closes the emitter, then the Recorder. The closed
  // emitter drops the final checkpoint at once; the error said "their queue still full after
  // closeWaitMs of flushes", and no queue was full. closeWaitMs is longer than the test's timeout.
  const sink = createFakeSink();
  const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, warnIntervalMs: 0 });
  const errors: Error[] = [];
  const recorder = createRecorder({
    service: "projects",
    emitters: [emitter],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 1000 },
    closeWaitMs: 600_000,
    onError: (error) => errors.push(error),
  });
  recordMutations(recorder, 2);
  expect((await emitter.close()).ok).toBe(true);

  const report = await recorder.close();

  const message =
    "recorder: the emitters dropped the final chain checkpoint, an emitter was closed before the Recorder " +
    "(close the Recorder: it closes its emitters after its final checkpoint); verify --sealed will report the chain as truncated";
  expect(errors).toStrictEqual([new AuditError(message)]);
  expect(report.ok).toBe(false);
  expect(report.results.at(-1)).toStrictEqual({
    emitter: "recorder",
    status: "error",
    error: new AuditError(message),
  });
  expect(sink.receivedIds()).toHaveLength(2);
});
