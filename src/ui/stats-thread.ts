// The web viewer's counting thread (started by `startStatsWorker`): its own read-only connection to
// the SQLite store answers each request with the store's own counts, off the viewer's event loop.
import { parentPort, workerData } from "node:worker_threads";
import { AuditError, toError } from "../errors/index.js";
import { type AuditStore, openAuditStore } from "../store/audit-store.js";
import { fileId } from "../store/file-identity.js";
import type { StatsReply, StatsRequest, StatsThreadData } from "./stats-worker.js";

const { path, busyTimeoutMs, file } = workerData as StatsThreadData;
let store: AuditStore | undefined;

/**
 * The store, opened at the first request. Not at start: a file locked meanwhile would fail the thread
 * for good. It must be the file the viewer opened: a thread started again later (after one failed)
 * would otherwise count in a file put at the path since.
 */
function openedStore(): AuditStore {
  if (store !== undefined) return store;
  const opened = openAuditStore({ path, readonly: true, busyTimeoutMs });
  const now = fileId(path);
  if (file === undefined || now?.dev !== file.dev || now.ino !== file.ino) {
    opened.close();
    throw new AuditError(`audit store ${path}: the file was removed or replaced since the viewer opened it`);
  }
  store = opened;
  return store;
}

parentPort?.on("message", ({ id, filter }: StatsRequest) => {
  let reply: StatsReply;
  try {
    reply = { id, stats: openedStore().stats(filter) };
  } catch (thrown) {
    const error = toError(thrown);
    const code = (error as { code?: unknown }).code;
    reply = { id, error: { message: error.message, code: typeof code === "string" ? code : undefined } };
  }
  parentPort?.postMessage(reply);
});
