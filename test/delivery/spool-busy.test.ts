/**
 * A spool SQLite refuses to change without damage: another connection holds its write lock
 * (SQLITE_BUSY), or the file is read-only (SQLITE_READONLY); a full disk refuses a delete the same
 * way (SQLITE_FULL, once the -wal has to grow). Deletes of rows the sink took then fail: those rows
 * used to be read and sent again at once, in a loop, each failure reported. And SQLite's 5 s busy
 * wait blocked the event loop (emit commits in write-ahead mode).
 *
 * Real locks, no mocks: a second better-sqlite3 connection (here, or in a child process) holds the
 * spool's write lock with BEGIN IMMEDIATE; `PRAGMA query_only` on the spool's own connection (the
 * pipeline's test seam `spoolOpened`) makes it refuse writes as a read-only file does.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DeliveryEmitterOptions } from "../../src/delivery/index.js";
import { DeliveryPipeline } from "../../src/delivery/pipeline.js";
import { resolveDeliveryOptions } from "../../src/delivery/resolve-options.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { errorCollector, ids, numberedEvent, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const pipelines: DeliveryPipeline[] = [];
const connections: Database.Database[] = [];

beforeEach(() => {
  const temp = tempDir("spool-busy");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  for (const db of connections.splice(0)) if (db.open) db.close();
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.close(50)));
  removeDir();
});

/** A delivery pipeline (what createDeliveryEmitter wraps); `spoolConnection()` is its spool's connection. */
function open(options: DeliveryEmitterOptions) {
  let connection: { pragma(source: string): unknown } | undefined;
  const pipeline = new DeliveryPipeline({
    ...resolveDeliveryOptions(options),
    spoolOpened: (db) => {
      connection = db;
    },
  });
  pipelines.push(pipeline);
  const spoolConnection = () => {
    if (connection === undefined) throw new Error("the spool opened no connection");
    return connection;
  };
  return { pipeline, spoolConnection };
}

/** A second connection on the spool that holds its write lock until `release()`. */
function holdWriteLock(): { release: () => void } {
  const db = new Database(spoolPath, { timeout: 0 });
  connections.push(db);
  db.exec("BEGIN IMMEDIATE");
  return { release: () => db.exec("ROLLBACK") };
}

function spoolRows(): number {
  const db = new Database(spoolPath, { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM spool").pluck().get() as number;
  } finally {
    db.close();
  }
}

const requireHere = createRequire(import.meta.url);

/**
 * A child process that holds the spool's write lock, and lets go `ms` after `letGoIn()` (called by
 * the test right before the step that must find the lock held: counted from there, not from when the
 * child took the lock, the time is the step's own, however late the test gets to it on a loaded
 * machine); resolves once it holds it. Killed by the test when done.
 */
async function holdWriteLockInChild(ms: number): Promise<{ letGoIn: () => void; stop: () => Promise<void> }> {
  const script = `
    const Database = require(process.argv[1]);
    const db = new Database(process.argv[2], { timeout: 0 });
    db.exec("BEGIN IMMEDIATE");
    process.stdin.once("data", () => setTimeout(() => db.exec("ROLLBACK"), Number(process.argv[3])));
    process.stdout.write("locked\\n");
    setTimeout(() => {}, 60000);`;
  const child = spawn(
    process.execPath,
    ["-e", script, requireHere.resolve("better-sqlite3"), spoolPath, String(ms)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`the lock holder exited with ${code}`)));
  });
  return {
    // Written to the pipe at once (libuv writes before it queues): in the child before emit goes on.
    letGoIn: () => void child.stdin.write("go\n"),
    stop: async () => {
      child.kill("SIGKILL"); // the OS lets go of its locks
      await exited;
    },
  };
}

describe("a spool whose deletes SQLite refuses", () => {
  it("never sends again the rows the sink took, tells it once per warnIntervalMs, and deletes them later", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const { errors, onError } = errorCollector();
    const { pipeline } = open({
      sink,
      flushIntervalMs: 0,
      retry: { initialDelayMs: 5, maxDelayMs: 5, jitter: "decorrelated" },
      spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 5 },
      onError,
    });
    for (let n = 1; n <= 5; n++) expect(pipeline.emit(numberedEvent(n))).toBe("accepted");
    await until(() => sink.held.length === 1);
    expect(pipeline.stats()).toMatchObject({ spooled: 5, spoolEvents: 5 });

    const lock = holdWriteLock();
    sink.mode = "ack";
    sink.delayMs = 1; // a write takes a turn of the event loop, as over a network
    sink.ackHeld(); // delivered; its delete is refused (SQLITE_BUSY)
    await until(() => errors.length > 0);
    for (let n = 6; n <= 8; n++) expect(pipeline.emit(numberedEvent(n))).toBe("accepted");
    expect(await pipeline.flush(2000)).toMatchObject({ ok: true, pending: 0 });
    // Let the pump and the retries of the delete run a while: nothing is sent twice.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sink.receivedIds()).toStrictEqual(ids(1, 8));
    expect(spoolRows()).toBe(5);
    expect(pipeline.stats()).toMatchObject({
      delivered: 8,
      spoolEvents: 0,
      spoolUndeleted: 5,
      queueEvents: 0,
      dropped: {},
    });
    expect(errors.map((error) => error.message)).toStrictEqual([
      `fake: spool ${spoolPath}: delete failed: database is locked; the rows the sink took stay in the file, are not sent again, and are deleted once SQLite allows it`,
      `fake: spool ${spoolPath}: commit failed: database is locked; write-ahead: emit refuses the events it cannot commit until it can commit again`,
    ]);
    expect(errors[0]?.cause).toMatchObject({ code: "SQLITE_BUSY" });

    lock.release();
    await until(() => spoolRows() === 0);
    expect(pipeline.stats().spoolUndeleted).toBe(0);
    for (let n = 9; n <= 10; n++) expect(pipeline.emit(numberedEvent(n))).toBe("accepted");
    expect(await pipeline.close(2000)).toMatchObject({ ok: true, pending: 0, dropped: 0 });
    expect(sink.receivedIds()).toStrictEqual(ids(1, 10));
    expect(pipeline.stats()).toMatchObject({ delivered: 10, spooled: 7 });
    expect(errors).toHaveLength(2);
  });
});

describe("a spool another process holds busy", () => {
  it("never makes emit wait for the lock: the commit fails at once and the event is refused", async () => {
    const sink = createFakeSink();
    const { errors, onError } = errorCollector();
    const { pipeline } = open({
      sink,
      flushIntervalMs: 0,
      retry: { initialDelayMs: 5, maxDelayMs: 5, jitter: "decorrelated" },
      // emit commits at once, on the event loop, as in write-ahead mode under load.
      spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 5, maxUncommittedEvents: 1 },
      onError,
    });
    // SQLite's busy wait would hold emit until the holder lets go (after 3 s, within its 5 s), and
    // then commit: the event would be spooled.
    const holder = await holdWriteLockInChild(3000);
    try {
      holder.letGoIn();
      // Write-ahead with maxUncommittedEvents 1: an event the spool cannot commit is not held in memory.
      expect(pipeline.emit(numberedEvent(1))).toBe("dropped");
      expect(pipeline.stats()).toMatchObject({ spooled: 0, queueEvents: 0, spoolEvents: 0 });
      expect(pipeline.stats().dropped).toStrictEqual({ spool_error: 1 });
      expect(errors.map((error) => error.message)).toStrictEqual([
        `fake: spool ${spoolPath}: commit failed: database is locked; write-ahead: emit refuses the events it cannot commit until it can commit again`,
        "fake: dropped 1 event (spool_error): the spool could not commit it (read-only, busy, I/O error)",
      ]);
      expect(errors[0]?.cause).toMatchObject({ code: "SQLITE_BUSY" });
      expect(await pipeline.flush(2000)).toMatchObject({ ok: true, pending: 0 });
      expect(sink.receivedIds()).toStrictEqual([]);
    } finally {
      await holder.stop();
    }

    // The lock is free: once the retry delay has passed, events are committed before delivery again.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pipeline.emit(numberedEvent(2))).toBe("accepted");
    expect(pipeline.stats()).toMatchObject({ spooled: 1 });
    expect(await pipeline.close(2000)).toMatchObject({ ok: true, pending: 0, dropped: 0 });
    expect(sink.receivedIds()).toStrictEqual(ids(2, 2));
    expect(spoolRows()).toBe(0);
    expect(errors).toHaveLength(2);
  });
});

describe("a spool that became read-only", () => {
  it("says at close how many delivered rows it could not delete; the next emitter delivers them again", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const { errors, onError } = errorCollector();
    const { pipeline, spoolConnection } = open({
      sink,
      flushIntervalMs: 0,
      spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 5 },
      onError,
    });
    for (let n = 1; n <= 3; n++) expect(pipeline.emit(numberedEvent(n))).toBe("accepted");
    await until(() => sink.held.length === 1);
    expect(pipeline.stats()).toMatchObject({ spooled: 3 });

    spoolConnection().pragma("query_only = ON"); // refuses every write, as a read-only file does
    sink.mode = "ack";
    sink.delayMs = 1; // a write takes a turn of the event loop, as over a network
    sink.ackHeld();
    await until(() => errors.length > 0);
    expect(errors[0]?.cause).toMatchObject({ code: "SQLITE_READONLY" });
    expect(await pipeline.close(1000)).toMatchObject({ ok: true, pending: 0, dropped: 0, delivered: 0 });
    expect(pipeline.stats()).toMatchObject({ delivered: 3, spoolEvents: 0, dropped: {} });
    expect(errors.map((error) => error.message)).toStrictEqual([
      `fake: spool ${spoolPath}: delete failed: attempt to write a readonly database; the rows the sink took stay in the file, are not sent again, and are deleted once SQLite allows it`,
      `fake: spool ${spoolPath}: 3 rows the sink took could not be deleted; the next emitter on this spool delivers them again`,
    ]);
    expect(spoolRows()).toBe(3);

    // At least once: the next emitter on the file delivers them again, then deletes them.
    const next = createFakeSink();
    const { pipeline: after } = open({ sink: next, spool: { path: spoolPath } });
    expect(await after.flush(2000)).toMatchObject({ ok: true, pending: 0 });
    expect(next.receivedIds()).toStrictEqual(ids(1, 3));
    expect(await after.close(1000)).toMatchObject({ ok: true, pending: 0 });
    expect(spoolRows()).toBe(0);
  });
});
