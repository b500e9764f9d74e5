import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * Checkpoints of the store's write-ahead log on a worker thread. SQLite's automatic checkpoint runs
 * inside the committing call: with better-sqlite3 that is the event loop, which a 40 MiB checkpoint
 * (copy plus fsync) stalls for tens of milliseconds, and it took a fifth of the insert time in
 * bench/store.ts. The worker holds its own connection and runs a PASSIVE checkpoint, which never
 * blocks the writer, once enough rows were written since the last one or a second has passed.
 * @internal
 */
export interface Checkpointer {
  /** Tells the worker that `rows` more rows were committed. */
  written(rows: number): void;
  /** Stops the worker and waits (blocking, up to `timeoutMs`) until it has closed its connection. */
  stop(timeoutMs?: number): void;
}

/** Indexes of the shared control words. */
const STOP = 0;
const STOPPED = 1;
const PENDING_ROWS = 2;

// CommonJS run with `eval: true`: no file to resolve next to the compiled module, under tsx or tsc.
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const control = new Int32Array(workerData.control);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
try {
  let last = Date.now();
  while (Atomics.load(control, ${STOP}) === 0) {
    Atomics.wait(control, ${STOP}, 0, workerData.pollMs);
    const pending = Atomics.load(control, ${PENDING_ROWS});
    if (pending === 0) continue;
    if (pending < workerData.rows && Date.now() - last < workerData.maxDelayMs) continue;
    Atomics.sub(control, ${PENDING_ROWS}, pending);
    db.pragma("wal_checkpoint(PASSIVE)");
    last = Date.now();
  }
} finally {
  db.close();
  Atomics.store(control, ${STOPPED}, 1);
  Atomics.notify(control, ${STOPPED});
}
`;

export interface CheckpointerOptions {
  path: string;
  busyTimeoutMs: number;
  /** Rows written that trigger a checkpoint. */
  rows: number;
  /** Longest time rows wait for a checkpoint. */
  maxDelayMs: number;
  /** Called once if the worker fails; the store then goes back to SQLite's automatic checkpoints. */
  onFailure: (error: Error) => void;
  /** Module the worker loads the driver from. Tests point it elsewhere to make the worker fail. */
  driver?: string | undefined;
}

export function startCheckpointer(options: CheckpointerOptions): Checkpointer {
  const control = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      driver: options.driver ?? createRequire(import.meta.url).resolve("better-sqlite3"),
      control: control.buffer,
      path: options.path,
      busyTimeoutMs: options.busyTimeoutMs,
      rows: options.rows,
      maxDelayMs: options.maxDelayMs,
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
      if (!failed) Atomics.add(control, PENDING_ROWS, rows);
    },
    stop(timeoutMs = 10_000) {
      Atomics.store(control, STOP, 1);
      Atomics.notify(control, STOP);
      Atomics.wait(control, STOPPED, 0, timeoutMs);
    },
  };
}
