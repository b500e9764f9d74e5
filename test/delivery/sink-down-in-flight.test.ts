/**
 * When a batch spends its retry budget the sink counts as down, and that batch and the queue move to
 * the spool. The other batches being written from memory used to stay there until their own write
 * failed (a NATS ack timeout, writeTimeoutMs), and a batch went on being written from memory after
 * its budget ran out during a retry wait: a `kill -9` then lost those older events while newer ones
 * survived in the spool, a gap in the middle of the chain (review R148 F2). Now the writes of the
 * other batches are aborted and they follow into the spool, and the budget is checked again before
 * each retry.
 *
 * Real SQLite spool files; the sink is the fake sink, which holds writes until the test settles them.
 */
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { DeliveryPipeline } from "../../src/delivery/pipeline.js";
import { resolveDeliveryOptions } from "../../src/delivery/resolve-options.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { errorCollector, ids, numberedEvent, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const pipelines: DeliveryPipeline[] = [];

beforeEach(() => {
  const temp = tempDir("sink-down-in-flight");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.close(1000)));
  vi.restoreAllMocks();
  removeDir();
});

/** Rows committed to the spool file, read by another connection. */
function spoolRows(): number {
  const db = new Database(spoolPath, { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM spool").pluck().get() as number;
  } finally {
    db.close();
  }
}

it("moves the batches still being written from memory to the spool when the sink is declared down", async () => {
  const sink = createFakeSink();
  sink.mode = "hold";
  const { errors, onError } = errorCollector();
  const pipeline = new DeliveryPipeline(
    resolveDeliveryOptions({
      sink,
      flushIntervalMs: 0,
      maxBatchEvents: 1,
      maxInFlightBatches: 3,
      spool: { path: spoolPath, spoolAfterAttempts: 1 },
      onError,
    }),
  );
  pipelines.push(pipeline);
  for (let n = 1; n <= 3; n++) expect(pipeline.emit(numberedEvent(n))).toBe("accepted");
  await until(() => sink.held.length === 3); // three batches being written
  expect(pipeline.emit(numberedEvent(4))).toBe("accepted"); // queued behind them

  // The oldest write fails: its budget (one attempt) is spent, the sink counts as down.
  sink.held.shift()?.reject(new Error("sink unavailable"));
  await until(() => pipeline.stats().spooled > 0);
  expect(spoolRows()).toBe(4);
  expect(pipeline.stats()).toMatchObject({ spooled: 4, spoolEvents: 4, queueEvents: 0, mode: "spool" });
  // The aborted writes are no failures of the sink: one report, for the write that failed.
  expect(errors.map((error) => error.message)).toStrictEqual(["fake: sink write failed; retrying"]);

  // The sink is back: the spool is replayed, in order; the aborted writes are never counted. They
  // fail, as a sink that honours the signal does; the replays it held are acknowledged.
  sink.mode = "ack";
  for (const write of sink.held.splice(0)) {
    if (write.signal?.aborted === true) write.reject(write.signal.reason);
    else write.resolve();
  }
  expect(await pipeline.flush(2000)).toMatchObject({ ok: true, pending: 0 });
  expect(sink.receivedIds()).toStrictEqual(ids(1, 4));
  expect(pipeline.stats()).toMatchObject({ delivered: 4, replayed: 4, retried: 0, dropped: {} });
  expect(spoolRows()).toBe(0);
});

it("spools a failed batch whose spoolAfterMs ran out during the retry wait, instead of writing it again", async () => {
  let now = 1_000_000;
  vi.spyOn(performance, "now").mockImplementation(() => now);
  const sink = createFakeSink();
  sink.failures = 1; // the first write fails; later ones wait in the sink
  sink.mode = "hold";
  const pipeline = new DeliveryPipeline(
    resolveDeliveryOptions({
      sink,
      flushIntervalMs: 0,
      spool: { path: spoolPath, spoolAfterMs: 1000 },
      // The wait before the retry is where the budget runs out.
      sleep: async () => {
        now += 1000;
      },
      onError: () => {},
    }),
  );
  pipelines.push(pipeline);
  expect(pipeline.emit(numberedEvent(1))).toBe("accepted");

  // The failed write, then one more: the replay from the spool (held by the sink), not a retry from memory.
  await until(() => sink.attempts.length === 2);
  expect(pipeline.stats()).toMatchObject({ retried: 0, spooled: 1, spoolEvents: 1, queueEvents: 0 });
  expect(spoolRows()).toBe(1);
  sink.mode = "ack";
  sink.ackHeld();
  expect(await pipeline.flush(2000)).toMatchObject({ ok: true, pending: 0 });
  expect(pipeline.stats()).toMatchObject({ delivered: 1, replayed: 1, retried: 0 });
});
