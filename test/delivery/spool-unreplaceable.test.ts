/**
 * A spool found damaged while in use that cannot be replaced (here its file is gone, so it cannot be
 * moved aside) is closed. Events accepted after that used to be taken off the queue for a spool that
 * could no longer take them: lost without a count, and flush() reported them delivered. They are
 * delivered from memory instead.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { errorCollector, id, ids, numberedEvent, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  const temp = tempDir("unreplaceable");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  removeDir();
});

/** Overwrites every page of the spool file but the first two (same file), then removes its name. */
function damageAndRemove(): void {
  const fd = fs.openSync(spoolPath, "r+");
  try {
    const garbage = Buffer.alloc(fs.fstatSync(fd).size - 8192, 0x5a);
    fs.writeSync(fd, garbage, 0, garbage.length, 8192);
  } finally {
    fs.closeSync(fd);
  }
  for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(spoolPath + suffix, { force: true });
}

describe("a spool that cannot be replaced", () => {
  it("delivers events accepted after it closed from memory", async () => {
    // More rows than SQLite's page cache holds, so deleting the first ones reads the damaged pages.
    const large = (n: number) => ({ ...numberedEvent(n, "authz", "old"), operation: "o".repeat(8000) });
    const before = createFakeSink();
    before.mode = "hold";
    const first = createDeliveryEmitter({ sink: before, flushIntervalMs: 0, spool: { path: spoolPath } });
    for (let n = 1; n <= 600; n++) first.emit(large(n));
    expect(await first.close({ timeoutMs: 20 })).toMatchObject({ spooled: 600 });

    const sink = createFakeSink();
    sink.mode = "hold";
    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({
      sink,
      flushIntervalMs: 0,
      maxBatchEvents: 10,
      spool: { path: spoolPath },
      onError,
    });
    emitters.push(emitter);
    await until(() => sink.held.length === 1);
    damageAndRemove();
    sink.mode = "ack";
    sink.ackHeld(); // deleting the delivered rows finds the damage; the file cannot be moved aside
    await until(() => errors.length > 0);
    expect(errors.map((error) => error.message)).toStrictEqual([
      `fake: spool ${spoolPath}: could not replace a damaged spool`,
    ]);

    expect(emitter.emit(numberedEvent(1))).toBe("accepted");
    const report = await emitter.flush({ timeoutMs: 5000 });

    expect(sink.receivedIds().slice(10)).toStrictEqual([id(1)]);
    expect(report).toMatchObject({ ok: true, pending: 0 });
    expect(emitter.stats()).toMatchObject({ accepted: 1, delivered: 11, dropped: {} });
  });

  it("delivers from memory the events that waited for its next commit", async () => {
    const large = (n: number) => ({ ...numberedEvent(n, "authz", "old"), operation: "o".repeat(8000) });
    const before = createFakeSink();
    before.mode = "hold";
    const first = createDeliveryEmitter({ sink: before, flushIntervalMs: 0, spool: { path: spoolPath } });
    for (let n = 1; n <= 600; n++) first.emit(large(n));
    expect(await first.close({ timeoutMs: 20 })).toMatchObject({ spooled: 600 });

    const sink = createFakeSink();
    sink.mode = "hold";
    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({
      sink,
      flushIntervalMs: 0,
      maxBatchEvents: 10,
      maxQueueEvents: 10,
      overflow: "spool",
      // No commit before the damage is found: the "spool" event below waits for one.
      spool: { path: spoolPath, commitIntervalMs: 60_000 },
      onError,
    });
    emitters.push(emitter);
    await until(() => sink.held.length === 1);
    damageAndRemove();
    for (let n = 1; n <= 10; n++) expect(emitter.emit(numberedEvent(n))).toBe("accepted"); // queued
    expect(emitter.emit(numberedEvent(11))).toBe("accepted"); // the queue is full: to the spool
    expect(emitter.stats()).toMatchObject({ queueEvents: 10, spoolEvents: 600 + 1 });
    sink.mode = "ack";
    sink.ackHeld(); // deleting the delivered rows finds the damage; the file cannot be moved aside
    await until(() => errors.length > 0);
    expect(errors.map((error) => error.message)).toStrictEqual([
      `fake: spool ${spoolPath}: could not replace a damaged spool`,
    ]);

    const report = await emitter.flush({ timeoutMs: 2000 });

    expect(report).toMatchObject({ ok: true, pending: 0 });
    expect(sink.receivedIds().slice(10)).toStrictEqual(ids(1, 11));
    expect(emitter.stats()).toMatchObject({ accepted: 11, delivered: 21, dropped: {}, mode: "direct" });

    // What close() cannot deliver is dropped as without a spool: close_timeout, not spool_full.
    sink.mode = "hold";
    expect(emitter.emit(numberedEvent(12))).toBe("accepted");
    expect(await emitter.close({ timeoutMs: 20 })).toMatchObject({ ok: false, dropped: 1 });
    expect(emitter.stats().dropped).toStrictEqual({ close_timeout: 1 });
  });
});
