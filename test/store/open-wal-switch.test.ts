// Switching a store file to WAL takes SQLite's exclusive lock, and SQLite does not wait for it (no busy
// handler): a process opening a file that another process is reading in rollback mode (a new file
// several servers open at once, all but one reading it meanwhile) failed at once with "locked by
// another process", whatever busyTimeoutMs said. The reader here is a worker thread with its own
// connection, as another process's would be.
import { createRequire } from "node:module";
import path from "node:path";
import { Worker } from "node:worker_threads";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../delivery/helpers.js";

const require = createRequire(import.meta.url);
let dir: ReturnType<typeof tempDir> | undefined;
afterEach(() => {
  dir?.remove();
  dir = undefined;
});

/** A store file of the current schema in rollback mode, as a new one is until its first opener is done. */
function rollbackStore(): string {
  dir = tempDir("open-wal-switch");
  const file = path.join(dir.dir, "audit.db");
  openAuditStore({ path: file }).close();
  const raw = new BetterSqlite3(file);
  expect(raw.pragma("journal_mode = DELETE", { simple: true })).toBe("delete");
  raw.close();
  return file;
}

/** A reader holding a read transaction on `file` for 200 ms on its own timer; resolves once it holds it. */
async function holdRead(file: string) {
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const db = new (require(workerData.sqlite))(workerData.file);
     db.exec("BEGIN IMMEDIATE");
     parentPort.postMessage("holding");
     setTimeout(() => { db.exec("COMMIT"); db.close(); parentPort.close(); }, 200);`,
    { eval: true, workerData: { file, sqlite: require.resolve("better-sqlite3") } },
  );
  await new Promise((resolve) => worker.once("message", resolve));
  return { ended: new Promise((resolve) => worker.once("exit", resolve)) };
}

it("waits up to busyTimeoutMs for a reader to let go before switching a store file to WAL", async () => {
  const file = rollbackStore();
  const reader = await holdRead(file);
  // Opened while the worker holds its read: this thread waits inside the open, the worker lets go.
  openAuditStore({ path: file, busyTimeoutMs: 5000 }).close();
  await reader.ended;
  const raw = new BetterSqlite3(file, { readonly: true });
  expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
  raw.close();
});
