/**
 * A spool that cannot commit (its disk is full) must not stop delivery to a sink that is up. Events
 * that waited for a commit used to stay appended to the spool, where the pump never reads, and the
 * pump waited for that commit: delivery stopped for good, and flush() timed out with a healthy sink.
 *
 * The disk is made full for real, without mocks: SQLite's `PRAGMA max_page_count` on the spool's own
 * connection (a per-connection limit, set through the pipeline's test seam `spoolOpened`) keeps the
 * file from growing, and SQLite refuses inserts with SQLITE_FULL, "database or disk is full", as when
 * the disk has no space left. Raising the limit again is the space being freed.
 */
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DeliveryEmitterOptions, DeliveryStats } from "../../src/delivery/index.js";
import { DeliveryPipeline } from "../../src/delivery/pipeline.js";
import { resolveDeliveryOptions } from "../../src/delivery/resolve-options.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { errorCollector, ids, numberedEvent, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const pipelines: DeliveryPipeline[] = [];

beforeEach(() => {
  const temp = tempDir("spool-full");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.close(50)));
  removeDir();
});

/** An event of about 6 KB: its row needs new pages, which a full file cannot get. */
function large(n: number) {
  return { ...numberedEvent(n), operation: "o".repeat(6000) };
}

/**
 * A delivery pipeline (what createDeliveryEmitter wraps) whose spool disk the test fills and frees:
 * `fill()` caps the file at its current size, `free()` lifts the cap.
 */
function onFullDisk(options: DeliveryEmitterOptions) {
  let connection: { pragma(source: string): unknown } | undefined;
  const pipeline = new DeliveryPipeline({
    ...resolveDeliveryOptions(options),
    spoolOpened: (db) => {
      connection = db;
    },
  });
  pipelines.push(pipeline);
  const pragma = (source: string) => {
    if (connection === undefined) throw new Error("the spool opened no connection");
    connection.pragma(source);
  };
  return {
    pipeline,
    // SQLite raises a smaller limit to the file's current size.
    fill: () => pragma("max_page_count = 1"),
    free: () => pragma("max_page_count = 1073741823"),
  };
}

function droppedTotal(stats: DeliveryStats): number {
  return Object.values(stats.dropped).reduce((sum, n) => sum + n, 0);
}

function spoolRows(): number {
  const db = new Database(spoolPath, { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM spool").pluck().get() as number;
  } finally {
    db.close();
  }
}

/** What onError hears of the failed commits (once per warnIntervalMs), with and without write-ahead. */
function commitFailed(writeAhead: boolean): string {
  const meanwhile = writeAhead
    ? "write-ahead: emit refuses the events it cannot commit until it can commit again"
    : "delivering from memory until it can commit again";
  return `fake: spool ${spoolPath}: commit failed: database or disk is full; ${meanwhile}`;
}

describe("a spool on a full disk", () => {
  it("delivers write-ahead events from memory, then uses the spool again once it has room", async () => {
    const sink = createFakeSink();
    const { errors, onError } = errorCollector();
    const { pipeline, fill, free } = onFullDisk({
      sink,
      flushIntervalMs: 0,
      // A failed commit is tried again after 20 ms (also the sink's retry delay: it never fails here).
      retry: { initialDelayMs: 20, maxDelayMs: 20, jitter: "decorrelated" },
      spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 5 },
      onError,
    });
    fill();

    for (let n = 1; n <= 20; n++) expect(pipeline.emit(large(n))).toBe("accepted");
    const report = await pipeline.flush(2000);

    expect(report).toMatchObject({ ok: true, pending: 0 });
    expect(sink.receivedIds()).toStrictEqual(ids(1, 20));
    // Told once, however often the commit was tried meanwhile (warnIntervalMs).
    expect(errors.map((error) => error.message)).toStrictEqual([commitFailed(true)]);
    expect(errors[0]?.cause).toMatchObject({ code: "SQLITE_FULL" });
    expect(pipeline.stats()).toMatchObject({
      accepted: 20,
      delivered: 20,
      spooled: 0,
      dropped: {},
      queueEvents: 0,
      spoolEvents: 0,
    });

    // Space is freed: once the retry delay has passed, events are committed before delivery again.
    free();
    await new Promise((resolve) => setTimeout(resolve, 40));
    for (let n = 21; n <= 25; n++) expect(pipeline.emit(large(n))).toBe("accepted");
    expect(await pipeline.flush(2000)).toMatchObject({ ok: true, pending: 0 });

    expect(sink.receivedIds()).toStrictEqual(ids(1, 25));
    expect(pipeline.stats()).toMatchObject({ accepted: 25, delivered: 25, spooled: 5, dropped: {} });
    expect(await pipeline.close(1000)).toMatchObject({ ok: true, pending: 0, dropped: 0 });
    expect(spoolRows()).toBe(0);
    expect(errors).toHaveLength(1);
  });

  it("delivers from memory what the spool policy could not commit, and counts what it refused", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const { errors, onError } = errorCollector();
    const { pipeline, fill } = onFullDisk({
      sink,
      flushIntervalMs: 0,
      maxQueueEvents: 4,
      maxBatchEvents: 2,
      overflow: "spool",
      // No commit but flush()'s and close()'s; after a failed one the spool takes nothing for a minute.
      retry: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: "decorrelated" },
      spool: { path: spoolPath, commitIntervalMs: 60_000 },
      onError,
    });
    fill();

    for (let n = 1; n <= 4; n++) expect(pipeline.emit(large(n))).toBe("accepted"); // in memory
    await until(() => sink.held.length === 1);
    for (let n = 5; n <= 6; n++) expect(pipeline.emit(large(n))).toBe("accepted"); // for the spool
    expect(pipeline.stats()).toMatchObject({ queueEvents: 4, spoolEvents: 2 });
    // Its commit fails: events 5 and 6 go back to memory, beyond its bound (they were accepted).
    expect(await pipeline.flush(20)).toMatchObject({ ok: false, pending: 6 });
    expect(pipeline.stats()).toMatchObject({ queueEvents: 6, spoolEvents: 0, spooled: 0 });
    expect(pipeline.emit(large(7))).toBe("dropped"); // the spool takes nothing now: spool_full

    sink.mode = "ack";
    sink.ackHeld();
    expect(await pipeline.flush(2000)).toMatchObject({ ok: true, pending: 0 });
    expect(sink.receivedIds()).toStrictEqual(ids(1, 6));

    // What close() cannot deliver, and cannot commit on the full disk either, is dropped and counted.
    sink.mode = "hold";
    expect(pipeline.emit(large(8))).toBe("accepted");
    await until(() => sink.held.length === 1);
    expect(await pipeline.close(20)).toMatchObject({
      ok: false,
      pending: 0,
      delivered: 0,
      spooled: 0,
      dropped: 1,
    });

    const stats = pipeline.stats();
    expect(stats).toMatchObject({
      emitted: 7,
      delivered: 6,
      spooled: 0,
      dropped: { spool_full: 2 },
      droppedAfterAccept: 1,
      failed: 0,
    });
    // Every event handed to emit is accepted, refused or failed; every accepted one delivered, left in
    // the spool (none) or dropped later.
    expect(stats.emitted + droppedTotal(stats) - stats.droppedAfterAccept + stats.failed).toBe(8);
    expect(stats.emitted).toBe(stats.delivered + spoolRows() + stats.droppedAfterAccept);
    expect(errors.map((error) => error.message)).toStrictEqual([
      commitFailed(false),
      "fake: dropped 1 event (spool_full): the spool is full",
      // Held back by warnIntervalMs, told by close().
      "fake: dropped 1 event (spool_full): the spool is full",
    ]);
  });
});
