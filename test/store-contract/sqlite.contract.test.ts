// The SQLite store passes the store contract (wrapped to the asynchronous shape; its own API stays synchronous).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { SCHEMA_VERSION } from "../../src/store/schema.js";
import { type ContractStore, describeStoreContract } from "./contract.js";

/** The SQLite store in the contract's asynchronous shape. */
function wrap(store: AuditStore): ContractStore {
  return {
    insert: async (events) => store.insert(events),
    query: async (filter, page) => store.query(filter, page),
    tail: async (afterSeq, limit) => store.tail(afterSeq, limit),
    lastSeq: async () => store.lastSeq(),
    stats: async (filter) => store.stats(filter),
    prune: async (options) => store.prune(options),
    pruneReport: async (options) => store.pruneReport(options),
    sink: () => store.sink(),
    close: async () => store.close(),
  };
}

/** Runs `sql` on the file through a connection of its own. */
function onFile(path: string, use: (db: BetterSqlite3.Database) => void): void {
  const db = new BetterSqlite3(path);
  try {
    use(db);
  } finally {
    db.close();
  }
}

describeStoreContract(
  "SQLite",
  async () => {
    const path = join(mkdtempSync(join(tmpdir(), "grpc-audit-contract-")), "audit.db");
    return {
      store: wrap(openAuditStore({ path })),
      damage: async (eventId, bytes) =>
        onFile(path, (db) =>
          db.prepare("UPDATE events SET event = ? WHERE event_id = ?").run(bytes, eventId),
        ),
      editColumn: async (eventId, column, value) =>
        onFile(path, (db) =>
          db
            .prepare(`UPDATE events SET ${column} = ? WHERE event_id = ?`)
            .run(typeof value === "boolean" ? Number(value) : value, eventId),
        ),
      setSchemaVersion: async (version) => onFile(path, (db) => db.pragma(`user_version = ${version}`)),
      reopen: async () => wrap(openAuditStore({ path })),
    };
  },
  SCHEMA_VERSION,
);
