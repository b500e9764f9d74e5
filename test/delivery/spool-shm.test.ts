/**
 * A spool whose -shm index is invalid (here zeroed) while another process holds the write lock: SQLite
 * must rebuild the index to start any statement, which needs that lock, and it retries for about 10 s,
 * whatever the busy timeout, before failing with SQLITE_PROTOCOL. A spool statement is synchronous, so
 * emit (and every RPC) waited that long. Real files, a real lock held by a child process.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DIRECT_PLACE } from "../../src/delivery/options.js";
import { DeliveryPipeline } from "../../src/delivery/pipeline.js";
import { resolveDeliveryOptions } from "../../src/delivery/resolve-options.js";
import { Spool } from "../../src/delivery/spool.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { errorCollector, ids, numberedEvent, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const pipelines: DeliveryPipeline[] = [];

beforeEach(() => {
  const temp = tempDir("spool-shm");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.close(50)));
  removeDir();
});

const requireHere = createRequire(import.meta.url);

/**
 * A child process that takes the spool's write lock, then zeroes the two wal-index headers at the start
 * of the -shm file. It keeps its descriptor of the -shm open: closing it would drop its locks.
 */
async function breakIndexUnderLock(): Promise<{ stop: () => Promise<void> }> {
  const script = `
    const fs = require("node:fs");
    const Database = require(process.argv[1]);
    const db = new Database(process.argv[2], { timeout: 0 });
    db.exec("BEGIN IMMEDIATE");
    const fd = fs.openSync(process.argv[2] + "-shm", "r+");
    fs.writeSync(fd, Buffer.alloc(96), 0, 96, 0);
    process.stdout.write("locked\\n");
    setTimeout(() => {}, 60000);`;
  const child = spawn(process.execPath, ["-e", script, requireHere.resolve("better-sqlite3"), spoolPath], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`the lock holder exited with ${code}`)));
  });
  return {
    stop: async () => {
      child.kill("SIGKILL"); // the OS lets go of its locks
      await exited;
    },
  };
}

function spoolRows(): number {
  const db = new Database(spoolPath, { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM spool").pluck().get() as number;
  } finally {
    db.close();
  }
}

describe("a spool whose -shm index is invalid while another process holds the write lock", () => {
  it("refuses the commit at once as busy (no 10 s SQLITE_PROTOCOL wait), then rebuilds the index once the lock is free", async () => {
    const sink = createFakeSink();
    const { errors, onError } = errorCollector();
    const pipeline = new DeliveryPipeline(
      resolveDeliveryOptions({
        sink,
        flushIntervalMs: 0,
        retry: { initialDelayMs: 5, maxDelayMs: 5, jitter: "decorrelated" },
        // emit commits at once, on the event loop, as in write-ahead mode under load.
        spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 5, maxUncommittedEvents: 1 },
        onError,
      }),
    );
    pipelines.push(pipeline);
    expect(pipeline.emit(numberedEvent(1))).toBe("accepted");
    expect(await pipeline.flush(2000)).toMatchObject({ ok: true, pending: 0 });
    expect(pipeline.stats()).toMatchObject({ spooled: 1 });

    const holder = await breakIndexUnderLock();
    try {
      // Write-ahead with maxUncommittedEvents 1: an event the spool cannot commit is not held in memory.
      expect(pipeline.emit(numberedEvent(2))).toBe("dropped");
      expect(pipeline.stats()).toMatchObject({ spooled: 1, queueEvents: 0, spoolEvents: 0 });
      expect(pipeline.stats().dropped).toStrictEqual({ spool_error: 1 });
      expect(errors.map((error) => error.message)).toStrictEqual([
        `fake: spool ${spoolPath}: commit failed: database is locked (its -shm index is invalid and must be rebuilt, which waits for another connection's write lock); write-ahead: emit refuses the events it cannot commit until it can commit again`,
        "fake: dropped 1 event (spool_error): the spool could not commit it (read-only, busy, I/O error)",
      ]);
      expect(errors[0]?.cause).toMatchObject({ code: "SQLITE_BUSY" });
      expect(await pipeline.flush(2000)).toMatchObject({ ok: true, pending: 0 });
      expect(sink.receivedIds()).toStrictEqual(ids(1, 1));
    } finally {
      await holder.stop();
    }

    // The lock is free: once the retry delay has passed, the next commit rebuilds the index and goes on.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pipeline.emit(numberedEvent(3))).toBe("accepted");
    expect(pipeline.stats()).toMatchObject({ spooled: 2 });
    expect(await pipeline.close(2000)).toMatchObject({ ok: true, pending: 0, dropped: 0 });
    expect(sink.receivedIds()).toStrictEqual([...ids(1, 1), ...ids(3, 3)]);
    expect(spoolRows()).toBe(0);
    expect(errors).toHaveLength(2);
  });
});

describe("spool reads and deletes on an invalid -shm index under another process's write lock", () => {
  it("are refused at once as busy, and go through once the lock is free", async () => {
    const refusals: [string, unknown][] = [];
    const spool = new Spool({
      path: spoolPath,
      maxBytes: 1 << 20,
      synchronous: "normal",
      name: "fake",
      place: DIRECT_PLACE,
      onError: (error) => refusals.push(["error", error]),
      onRefused: (operation, error) => refusals.push([operation, (error as { code?: unknown }).code]),
      onMovedAside: () => {},
      onLost: () => {},
      onGivenUp: () => {},
    });
    try {
      for (let n = 1; n <= 3; n++) {
        const event = numberedEvent(n);
        spool.append({
          id: n,
          eventId: event.eventId,
          eventType: "authz.decision",
          bytes: encodeEvent(event),
        });
      }
      expect(spool.commit()).toStrictEqual({ committed: 3 });
      const [first] = spool.read(1, 1 << 20);

      const holder = await breakIndexUnderLock();
      try {
        expect(spool.read(10, 1 << 20)).toStrictEqual([]);
        expect(first === undefined ? true : spool.remove([first])).toBe(false);
        expect(refusals).toStrictEqual([
          ["read", "SQLITE_BUSY"],
          ["delete", "SQLITE_BUSY"],
        ]);
        expect(spool.readFailures).toBe(1);
      } finally {
        await holder.stop();
      }

      // The lock is free: the next statement rebuilds the index, and the delete refused before goes through.
      expect(spool.retryRemove()).toBe(true);
      expect(spool.read(10, 1 << 20).map((row) => row.eventId)).toStrictEqual(ids(2, 3));
      expect(refusals).toHaveLength(2);
    } finally {
      spool.close();
    }
    expect(spoolRows()).toBe(2);
  });
});
