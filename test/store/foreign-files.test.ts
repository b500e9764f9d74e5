// Files that are not audit stores: the store refuses them, naming the file, and leaves them as they were.
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { SCHEMA_VERSION } from "../../src/store/schema.js";

/** A SQLite file of another application: one table, `userVersion` as that application set it. */
function foreignDatabase(userVersion: number): string {
  const path = join(mkdtempSync(join(tmpdir(), "grpc-audit-foreign-")), "app.db");
  const db = new BetterSqlite3(path);
  db.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO accounts VALUES (1, 'a')");
  db.pragma(`user_version = ${userVersion}`);
  db.close();
  return path;
}

/** What another application would see of its file: its objects, version and journal mode. */
function shape(path: string) {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    return {
      objects: db.prepare("SELECT type, name FROM sqlite_master ORDER BY name").all(),
      userVersion: db.pragma("user_version", { simple: true }),
      journalMode: db.pragma("journal_mode", { simple: true }),
    };
  } finally {
    db.close();
  }
}

const APP_SHAPE = (userVersion: number) => ({
  objects: [{ type: "table", name: "accounts" }],
  userVersion,
  journalMode: "delete",
});

describe("openAuditStore on files that are not audit stores", () => {
  it.each([false, true])(
    "refuses another application's database (readonly: %s) and writes nothing into it",
    (readonly) => {
      const path = foreignDatabase(0);
      const attempt = () => openAuditStore({ path, readonly });
      expect(attempt).toThrow(AuditConfigError);
      expect(attempt).toThrow(
        readonly
          ? `audit store ${path}: not an audit store (no schema)`
          : `audit store ${path}: not an audit store (it holds tables of another application)`,
      );
      expect(shape(path)).toStrictEqual(APP_SHAPE(0));
    },
  );

  it.each([false, true])(
    "refuses a database whose version (set by another application) names no events table (readonly: %s)",
    (readonly) => {
      const path = foreignDatabase(3);
      const attempt = () => openAuditStore({ path, readonly });
      expect(attempt).toThrow(AuditConfigError);
      expect(attempt).toThrow(
        `audit store ${path}: not an audit store (schema version 3 but no events table)`,
      );
      expect(shape(path)).toStrictEqual(APP_SHAPE(3));
    },
  );

  it.each([false, true])("names the file when its schema is newer (readonly: %s)", (readonly) => {
    const path = foreignDatabase(SCHEMA_VERSION + 1);
    expect(() => openAuditStore({ path, readonly })).toThrow(
      `audit store ${path}: the database has schema version ${SCHEMA_VERSION + 1}, newer than this library's ${SCHEMA_VERSION}; upgrade grpc-audit`,
    );
  });

  it("still takes an empty file as a new store when opened read-write", () => {
    const path = join(mkdtempSync(join(tmpdir(), "grpc-audit-foreign-")), "new.db");
    BetterSqlite3(path).close(); // a 0-byte file, as createPrivately itself leaves one
    expect(statSync(path).size).toBe(0);
    const store = openAuditStore({ path });
    expect(store.lastSeq()).toBe(0);
    store.close();
    expect(shape(path).userVersion).toBe(SCHEMA_VERSION);
  });
});
