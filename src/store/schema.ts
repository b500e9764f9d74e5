import type { Database } from "better-sqlite3";
import { AuditConfigError } from "../errors/index.js";

/**
 * Schema migrations of the audit store, in order; migration N brings a database from user_version
 * N-1 to N. Never edit a shipped migration: add a new one.
 * @internal
 */
export const MIGRATIONS: readonly ((db: Database) => void)[] = [
  // 1: events with the columns every filter uses; the whole event as protobuf in `event`. Only the
  // many-valued columns (actor, target) and time are indexed: a first page filtered by a few-valued
  // column (type, result, operation) walks the time index newest first and stops after one page, and
  // every extra index costs each insert. SQLite appends the rowid (seq) to every index entry, so
  // these indexes also serve the (occurred_at_ms, seq) order of pages.
  (db) =>
    db.exec(`
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        event_type TEXT NOT NULL,
        occurred_at_ms INTEGER NOT NULL,
        service TEXT NOT NULL,
        operation TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        target_type TEXT NOT NULL,
        target_id TEXT NOT NULL,
        success INTEGER NOT NULL,
        code TEXT NOT NULL,
        event BLOB NOT NULL
      );
      CREATE INDEX events_time ON events (occurred_at_ms);
      CREATE INDEX events_actor ON events (actor_id, occurred_at_ms);
      CREATE INDEX events_target ON events (target_type, target_id, occurred_at_ms);
    `),
  // 2: the authz decision as a column, so "which calls were denied today?" needs no decoding;
  // rows written by version 1 are backfilled by the store in the migration's transaction.
  (db) =>
    db.exec(`
      ALTER TABLE events ADD COLUMN decision TEXT NOT NULL DEFAULT '';
    `),
  // 3: the call's request and trace ids as indexed columns, so the events of one call (the request id
  // its caller got back in a response header) or one trace are found without a scan; rows written by
  // earlier versions are backfilled by the store in the migration's transaction.
  (db) =>
    db.exec(`
      ALTER TABLE events ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
      ALTER TABLE events ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
      CREATE INDEX events_request ON events (request_id, occurred_at_ms);
      CREATE INDEX events_trace ON events (trace_id, occurred_at_ms);
    `),
  // 4: seq AUTOINCREMENT, so a position is never given twice. Without it SQLite gives a new row the
  // largest seq + 1: once a prune deleted the newest rows, the next events took positions `tail`
  // (grpc-audit tail, verify) had already passed, and it never showed them. SQLite cannot change a
  // column's definition, so the table is rebuilt with the same columns, rows, positions and indexes.
  (db) =>
    db.exec(`
      CREATE TABLE events_v4 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        event_type TEXT NOT NULL,
        occurred_at_ms INTEGER NOT NULL,
        service TEXT NOT NULL,
        operation TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        target_type TEXT NOT NULL,
        target_id TEXT NOT NULL,
        success INTEGER NOT NULL,
        code TEXT NOT NULL,
        event BLOB NOT NULL,
        decision TEXT NOT NULL DEFAULT '',
        request_id TEXT NOT NULL DEFAULT '',
        trace_id TEXT NOT NULL DEFAULT ''
      );
      INSERT INTO events_v4 SELECT seq, event_id, event_type, occurred_at_ms, service, operation, actor_id,
        target_type, target_id, success, code, event, decision, request_id, trace_id FROM events ORDER BY seq;
      DROP TABLE events;
      ALTER TABLE events_v4 RENAME TO events;
      CREATE INDEX events_time ON events (occurred_at_ms);
      CREATE INDEX events_actor ON events (actor_id, occurred_at_ms);
      CREATE INDEX events_target ON events (target_type, target_id, occurred_at_ms);
      CREATE INDEX events_request ON events (request_id, occurred_at_ms);
      CREATE INDEX events_trace ON events (trace_id, occurred_at_ms);
    `),
];

/** The schema version this library writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Refuses a database that is not an audit store before anything is written to it, and returns its
 * schema version: one of a newer version; one whose version names no `events` table (SQLite's
 * `user_version`, which other applications set too); with version 0 (no schema), a read-only one, and a
 * writable one that holds other tables (another application's database: migrating would add the
 * audit tables, switch it to WAL and set its version). An empty database opened writable is a new store.
 * Throws an Error saying why, which the store prefixes with the file.
 * @internal
 */
export function checkSchema(db: Database, readonly: boolean): number {
  const version = Number(db.pragma("user_version", { simple: true }));
  if (version > SCHEMA_VERSION) throw new Error(newerMessage(version));
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
  if (version === 0) {
    if (readonly) throw new Error("not an audit store (no schema)");
    if (tables.length > 0) throw new Error("not an audit store (it holds tables of another application)");
  } else if (!tables.includes("events")) {
    throw new Error(`not an audit store (schema version ${version} but no events table)`);
  }
  return version;
}

function newerMessage(version: number): string {
  return `the database has schema version ${version}, newer than this library's ${SCHEMA_VERSION}; upgrade grpc-audit`;
}

/**
 * Brings the database to `target` (default: the latest version), each migration in a transaction
 * (a savepoint inside the caller's: the store runs them all, and the fill-in of the added columns, in
 * one). Refuses a database written by a newer version of the library. Returns the version it started from.
 * @internal
 */
export function migrate(db: Database, target = SCHEMA_VERSION): number {
  const from = Number(db.pragma("user_version", { simple: true }));
  if (from > SCHEMA_VERSION) {
    throw new AuditConfigError(`audit store: ${newerMessage(from)}`);
  }
  for (let version = from + 1; version <= target; version++) {
    const step = MIGRATIONS[version - 1];
    if (step === undefined) break;
    db.transaction(() => {
      step(db);
      db.pragma(`user_version = ${version}`);
    })();
  }
  return from;
}
