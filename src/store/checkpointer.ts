import fs from "node:fs";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { FileId } from "./file-identity.js";

/**
 * Checkpoints of the store's write-ahead log on a worker thread. SQLite's automatic checkpoint runs
 * inside the committing call: with better-sqlite3 that is the event loop, which a 40 MiB checkpoint
 * (copy plus fsync) stalls for tens of milliseconds, and it took a fifth of the insert time in
 * bench/store.ts. The worker holds its own connection and runs a PASSIVE checkpoint, which never
 * blocks the writer, once enough rows were written since the last one or a second has passed; and a
 * TRUNCATE checkpoint, which holds writers off, once the log is beyond its bound (see WORKER_SOURCE).
 * @internal
 */
export interface Checkpointer {
  /** Tells the worker that `rows` more rows were committed; asks it to empty a log beyond its bound. */
  written(rows: number): void;
  /** Waits (blocking, up to the busy timeout) while the worker empties a log that grew beyond its bound. */
  waitWhileEmptying(): void;
  /** True while the worker empties a log beyond its bound: this process's writers hold off meanwhile. */
  emptying(): boolean;
  /** Stops the worker and waits (blocking, up to `timeoutMs`) until it has closed its connection. */
  stop(timeoutMs?: number): void;
}

/** Indexes of the shared control words. */
const STOP = 0;
const STOPPED = 1;
const PENDING_ROWS = 2;
/** 1 while the worker empties a log beyond its bound: this process's writer waits meanwhile. */
const EMPTYING = 3;
/** Log size in MiB beyond which a commit asks for emptying: the bound, raised after a failed try. */
const LIMIT_MIB = 4;
const MIB = 1024 * 1024;

// CommonJS run with `eval: true`: no file to resolve next to the compiled module, under tsx or tsc.
// A PASSIVE checkpoint never finishes while other connections keep writing (it copies the frames
// there were when it started), and SQLite starts the log anew only after one finished: with writes
// from several processes, or back to back from one, the log grew to ten times the store. So each poll
// also reads the log's size (other processes' writes count too); beyond \`logLimitBytes\`, the worker
// raises EMPTYING, which holds this process's writer after its next commit, and runs TRUNCATE
// checkpoints until the log is back within the bound. Writers that never pause always win SQLite's
// write lock back before a waiting checkpoint wakes up; every process's worker sees the same size,
// so all writers pause, one checkpoint gets the lock, and the others find the log emptied.
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { statSync } = require("node:fs");
const Database = require(workerData.driver);
const control = new Int32Array(workerData.control);
const stopped = () => {
  Atomics.store(control, ${STOPPED}, 1);
  Atomics.notify(control, ${STOPPED});
};
// The worker starts tens of milliseconds after the store opened its file. It never creates one (the
// path moved or deleted by then, that made an empty file there), and checkpoints only the store's own
// file, not another put at the path. Failing, it says it stopped at once: the store's close() waits.
const openStoreFile = () => {
  const gone = "the store file was moved, removed or replaced before the checkpoint worker opened it";
  let db;
  try {
    db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs, fileMustExist: true });
    const { file, path } = workerData;
    const now = path === ":memory:" ? undefined : statSync(path);
    if (now !== undefined && (file === undefined || now.dev !== file.dev || now.ino !== file.ino)) {
      throw new Error(gone);
    }
    return db;
  } catch (error) {
    db?.close();
    stopped();
    // SQLite's error crosses to the store's thread as its code alone: say what it means here.
    throw error?.code === "SQLITE_CANTOPEN" ? new Error(gone) : error;
  }
};
const db = openStoreFile();
db.pragma("journal_size_limit = " + workerData.logLimitBytes);
const logBytes = () => {
  try {
    return statSync(workerData.logPath).size;
  } catch {
    return 0;
  }
};
// Another connection's checkpoint makes TRUNCATE give up at once (SQLite does not wait for that
// lock), a writer of a process that has not paused yet or a reader still in the log after a short
// wait: tried again until the log is within the bound or the time is up. Then, a reader holding the
// log (a long query), the next try waits for the log to grow by another bound: writers are not held
// again and again. Every wait in this worker is measured on performance.now(), which a wall-clock
// step (NTP, a resumed VM, an operator) does not move: on Date.now(), a step back of a minute during
// a TRUNCATE held this process's writers a minute longer, and their batches failed as locked.
const truncate = () => {
  const until = performance.now() + workerData.truncateTimeoutMs;
  db.pragma("busy_timeout = " + workerData.truncateWaitMs);
  try {
    while (Atomics.load(control, ${STOP}) === 0) {
      const [result] = db.pragma("wal_checkpoint(TRUNCATE)");
      const bytes = logBytes();
      if (result.busy === 0 || bytes <= workerData.logLimitBytes) {
        Atomics.store(control, ${LIMIT_MIB}, Math.ceil(workerData.logLimitBytes / ${MIB}));
        return;
      }
      if (performance.now() > until) {
        Atomics.store(control, ${LIMIT_MIB}, Math.ceil((bytes + workerData.logLimitBytes) / ${MIB}));
        return;
      }
      Atomics.wait(control, ${STOP}, 0, 1);
    }
  } finally {
    db.pragma("busy_timeout = " + workerData.busyTimeoutMs);
  }
};
try {
  let last = performance.now();
  while (Atomics.load(control, ${STOP}) === 0) {
    Atomics.wait(control, ${STOP}, 0, workerData.pollMs);
    if (Atomics.load(control, ${EMPTYING}) === 1 || logBytes() > Atomics.load(control, ${LIMIT_MIB}) * ${MIB}) {
      Atomics.store(control, ${EMPTYING}, 1);
      try {
        truncate();
      } finally {
        Atomics.store(control, ${EMPTYING}, 0);
        Atomics.notify(control, ${EMPTYING});
      }
      last = performance.now();
      continue;
    }
    const pending = Atomics.load(control, ${PENDING_ROWS});
    if (pending === 0) continue;
    if (pending < workerData.rows && performance.now() - last < workerData.maxDelayMs) continue;
    Atomics.sub(control, ${PENDING_ROWS}, pending);
    db.pragma("wal_checkpoint(PASSIVE)");
    last = performance.now();
  }
} finally {
  db.close();
  stopped();
}
`;

export interface CheckpointerOptions {
  path: string;
  /** The file the store opened at `path`, as seen right after; undefined when none was seen. */
  file: FileId | undefined;
  /** The write-ahead log's path, where SQLite keeps it (beside a symlink's target, not the link). */
  logPath: string;
  busyTimeoutMs: number;
  /** Rows written that trigger a checkpoint. */
  rows: number;
  /** Longest time rows wait for a checkpoint. */
  maxDelayMs: number;
  /** Log size (whole MiB) beyond which a TRUNCATE checkpoint empties the log (also SQLite's journal_size_limit). */
  logLimitBytes: number;
  /** Called once if the worker fails; the store then goes back to SQLite's automatic checkpoints. */
  onFailure: (error: Error) => void;
  /** Module the worker loads the driver from. Tests point it elsewhere to make the worker fail. */
  driver?: string | undefined;
}

/** Size of the store's write-ahead log file, 0 when there is none. */
function logBytes(logPath: string): number {
  try {
    return fs.statSync(logPath).size;
  } catch {
    return 0;
  }
}

export function startCheckpointer(options: CheckpointerOptions): Checkpointer {
  const control = new Int32Array(new SharedArrayBuffer(5 * Int32Array.BYTES_PER_ELEMENT));
  Atomics.store(control, LIMIT_MIB, Math.ceil(options.logLimitBytes / MIB));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      driver: options.driver ?? createRequire(import.meta.url).resolve("better-sqlite3"),
      control: control.buffer,
      path: options.path,
      file: options.file,
      logPath: options.logPath,
      busyTimeoutMs: options.busyTimeoutMs,
      rows: options.rows,
      maxDelayMs: options.maxDelayMs,
      logLimitBytes: options.logLimitBytes,
      truncateWaitMs: Math.min(options.busyTimeoutMs, 50),
      truncateTimeoutMs: Math.min(options.busyTimeoutMs, 1000),
      pollMs: Math.min(100, options.maxDelayMs),
    },
  });
  let failed = false;
  worker.on("error", (error) => {
    failed = true;
    Atomics.store(control, STOPPED, 1);
    options.onFailure(error);
  });
  worker.unref(); // an open store must not keep the process alive on its own

  return {
    written(rows) {
      if (failed) return;
      Atomics.add(control, PENDING_ROWS, rows);
      if (logBytes(options.logPath) > Atomics.load(control, LIMIT_MIB) * MIB) {
        Atomics.store(control, EMPTYING, 1);
        Atomics.notify(control, STOP); // wakes the worker now, not at its next poll
      }
    },
    waitWhileEmptying() {
      if (failed) return;
      // Blocks the event loop, as SQLite's own wait for a lock does, for as long as the copy takes.
      Atomics.wait(control, EMPTYING, 1, options.busyTimeoutMs);
    },
    emptying: () => !failed && Atomics.load(control, EMPTYING) === 1,
    stop(timeoutMs = 10_000) {
      Atomics.store(control, STOP, 1);
      Atomics.notify(control, STOP);
      Atomics.wait(control, STOPPED, 0, timeoutMs);
    },
  };
}
