/**
 * A multi emitter (what the Recorder uses for 2+ emitters) closing a delivery emitter whose
 * sink hangs. docs/delivery.md: close() "drains for up to timeoutMs, then commits what is left to the
 * spool", and "A multi emitter (and so the Recorder's flush()/close()) adds up the pending of its
 * sinks". The Recorder's multi emitter waits 30000 ms per sink, the delivery emitter's closeTimeoutMs
 * and flushTimeoutMs are 30000 too: the multi gives up first, before the spool has the events, so
 * `await recorder.close(); process.exit()` loses them. The tests use those defaults (the Recorder
 * builds its multi emitter with them), on fake timers.
 */
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createMultiEmitter } from "../../src/emitters/multi-emitter.js";
import { numberedEvents, tempDir } from "../delivery/helpers.js";
import { createFakeSink } from "../helpers/fake-sink.js";

let dir: string;
let removeDir: () => void;
beforeEach(() => {
  ({ dir, remove: removeDir } = tempDir("review-multi"));
});
afterEach(() => {
  vi.useRealTimers();
  removeDir();
});

function fakeTimers(): void {
  vi.useFakeTimers({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date", "performance"],
  });
}

function spoolRowCount(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM spool").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe("multi emitter over a delivery emitter with a hung sink", () => {
  it("close() resolves only once the delivery emitter spooled what it could not deliver", async () => {
    const spoolPath = path.join(dir, "spool.db");
    const sink = createFakeSink();
    sink.mode = "hold"; // hangs, ignoring the abort signal
    fakeTimers();
    const delivery = createDeliveryEmitter({ sink, flushIntervalMs: 0, spool: { path: spoolPath } });
    const multi = createMultiEmitter([delivery, createMemoryEmitter()]);
    for (const event of numberedEvents(20)) multi.emit(event);

    let rows = -1;
    const closing = multi.close().then((report) => {
      rows = spoolRowCount(spoolPath); // what survives a process.exit() right after close() resolved
      return report;
    });
    await vi.advanceTimersByTimeAsync(40_000);
    const report = await closing;
    const late = await delivery.close(); // the same close, finished by now
    sink.ackHeld();

    expect(late).toMatchObject({ spooled: 20, dropped: 0, pending: 20 });
    expect(rows).toBe(20);
    expect(report.pending).toBe(20);
  }, 10_000);

  it("flush() reports the delivery emitter's pending count when it times out", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    fakeTimers();
    const delivery = createDeliveryEmitter({ sink, flushIntervalMs: 0 });
    const multi = createMultiEmitter([delivery, createMemoryEmitter()]);
    for (const event of numberedEvents(20)) multi.emit(event);

    const flushing = multi.flush();
    await vi.advanceTimersByTimeAsync(40_000);
    const report = await flushing;
    const closing = delivery.close({ timeoutMs: 10 });
    await vi.advanceTimersByTimeAsync(2000);
    await closing;
    sink.ackHeld();

    expect(report.ok).toBe(false);
    expect(report.pending).toBe(20);
  }, 10_000);
});

describe("multi emitter: flushTimeoutMs as long as a Node timer holds", () => {
  it("waits for a slow sink instead of reporting it as timed out after 1 ms", async () => {
    const sink = createFakeSink();
    sink.delayMs = 30;
    const delivery = createDeliveryEmitter({ sink, flushIntervalMs: 0 });
    const multi = createMultiEmitter([delivery, createMemoryEmitter()], { flushTimeoutMs: 2 ** 31 - 1 });
    for (const event of numberedEvents(3)) multi.emit(event);
    const report = await multi.flush();
    await multi.close();
    expect(report.ok).toBe(true);
  });
});
