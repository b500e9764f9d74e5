import { Worker } from "node:worker_threads";
import { AuditError } from "../errors/index.js";
import { type FileId, fileId } from "../store/file-identity.js";
import { type AuditQuery, type AuditStats, buildWhere } from "../store/query.js";

/** Options of `startStatsWorker`. @internal */
export interface StatsWorkerOptions {
  /** The SQLite store file the viewer has open. */
  path: string;
  /** How long a count waits for a lock another process holds, as the viewer's own reads do. */
  busyTimeoutMs: number;
  /**
   * The thread's program. Default: stats-thread.js beside this module, as tsc emits it. Tests of the
   * TypeScript source, which has no such file beside it, give the compiled one.
   */
  threadFile?: URL;
}

/** A SQLite store's counts, read on a thread of their own. @internal */
export interface StatsWorker {
  /** Counts of the events matching `filter`, as `AuditStore.stats` gives them. */
  stats(filter: AuditQuery): Promise<AuditStats>;
  /** Ends the thread and its connection; counts still waiting reject. Resolves once it has ended. */
  close(): Promise<void>;
}

/** What the viewer asks its counting thread. @internal */
export interface StatsRequest {
  id: number;
  filter: AuditQuery;
}

/** The thread's answer: the counts, or the error of the read as its message and SQLite's code. @internal */
export type StatsReply =
  | { id: number; stats: AuditStats }
  | { id: number; error: { message: string; code: string | undefined } };

/** What the thread is started with. @internal */
export interface StatsThreadData {
  path: string;
  busyTimeoutMs: number;
  /** The file the viewer opened at `path`: the thread counts in that file only. */
  file: FileId | undefined;
}

const THREAD_FILE = new URL("./stats-thread.js", import.meta.url);

/** One thread and the counts it was asked for and has not answered. */
interface Thread {
  worker: Worker;
  waiting: Map<number, { resolve: (stats: AuditStats) => void; reject: (error: Error) => void }>;
}

/**
 * Reads the counts of a SQLite store on a worker thread with its own read-only connection to the
 * file (WAL lets it read beside the viewer's): a count reads every matching row, seconds on a large
 * store, and on the event loop it held every other request of the viewer. The thread starts with the
 * first count. One that fails or exits rejects the counts it was asked for with an AuditError saying
 * so, and the next count starts a new one. Errors of the read keep SQLite's `code`, so a lock or a
 * damaged file is named as the viewer's own reads name it.
 * @internal
 */
export function startStatsWorker(options: StatsWorkerOptions): StatsWorker {
  const data: StatsThreadData = {
    path: options.path,
    busyTimeoutMs: options.busyTimeoutMs,
    file: fileId(options.path),
  };
  let current: Thread | undefined;
  let nextId = 0;
  let closed = false;

  const end = (thread: Thread, error: Error) => {
    if (current === thread) current = undefined;
    for (const { reject } of thread.waiting.values()) reject(error);
    thread.waiting.clear();
  };
  const start = (): Thread => {
    const worker = new Worker(options.threadFile ?? THREAD_FILE, { workerData: data });
    const thread: Thread = { worker, waiting: new Map() };
    worker.unref(); // referenced only while it has counts to answer: an idle thread keeps nothing alive
    worker.on("message", (reply: StatsReply) => {
      const waiting = thread.waiting.get(reply.id);
      if (waiting === undefined) return;
      thread.waiting.delete(reply.id);
      if (thread.waiting.size === 0) worker.unref();
      if ("stats" in reply) waiting.resolve(reply.stats);
      else waiting.reject(readError(reply.error));
    });
    worker.on("error", (error) => {
      end(
        thread,
        new AuditError(`web viewer: the counting thread failed: ${error.message}`, { cause: error }),
      );
    });
    worker.on("exit", (code) => {
      end(thread, new AuditError(`web viewer: the counting thread stopped (exit code ${code})`));
    });
    return thread;
  };

  return {
    stats(filter) {
      if (closed) return Promise.reject(new AuditError("web viewer: closed; the count was not started"));
      try {
        buildWhere(filter); // a bad filter is the caller's AuditInputError, thrown here as the store throws it
      } catch (error) {
        return Promise.reject(error);
      }
      current ??= start();
      const thread = current;
      const id = nextId++;
      return new Promise((resolve, reject) => {
        thread.waiting.set(id, { resolve, reject });
        thread.worker.ref();
        thread.worker.postMessage({ id, filter } satisfies StatsRequest);
      });
    },
    async close() {
      closed = true;
      const thread = current;
      if (thread === undefined) return;
      end(thread, new AuditError("web viewer: closed; the count was not finished"));
      // Resolves once the thread has ended, after the count it is in (SQLite cannot be stopped mid-statement).
      await thread.worker.terminate();
    },
  };
}

/** A read's error from the thread, with SQLite's code (SQLITE_BUSY, SQLITE_CORRUPT) when it had one. */
function readError({ message, code }: { message: string; code: string | undefined }): AuditError {
  const error = new AuditError(message);
  return code === undefined ? error : Object.assign(error, { code });
}
