// Review R123: `insert` into a SQLite store whose write lock another connection held past
// busyTimeoutMs failed with SQLite's bare "database is locked", naming neither the store nor the
// setting. It names both now, in the words of the CLI and the web viewer, with SQLite's error as its
// cause, and stores nothing. A real file; the lock is held by a second real connection (BEGIN IMMEDIATE).
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, expect, it } from "vitest";
import { AuditEmitError } from "../../src/errors/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../delivery/helpers.js";
import { sampleEvent } from "../helpers/events.js";

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

it("names the store and busyTimeoutMs when another connection holds the write lock", () => {
  const { dir, remove } = tempDir("insert-locked");
  cleanup = remove;
  const file = path.join(dir, "audit.db");
  const store = openAuditStore({ path: file, busyTimeoutMs: 20 });
  const other = new Database(file);
  try {
    other.exec("BEGIN IMMEDIATE");
    let thrown: unknown;
    try {
      store.insert([sampleEvent({ kind: "authz", eventId: "e-1" })]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AuditEmitError);
    const error = thrown as AuditEmitError;
    expect([error.emitter, error.message]).toStrictEqual([
      `audit store ${file}`,
      `audit store ${file}: the database is locked by another process (still after busyTimeoutMs, 20 ms); the events of this batch were not stored`,
    ]);
    expect(error.cause).toMatchObject({ name: "SqliteError", code: "SQLITE_BUSY" });
    other.exec("ROLLBACK");
    expect(store.tail(0).events).toStrictEqual([]);
    expect(store.insert([sampleEvent({ kind: "authz", eventId: "e-1" })])).toBe(1);
  } finally {
    other.close();
    store.close();
  }
});
