/**
 * Changes to a SQLite store file that only someone with write access to it makes, and which a store
 * never does itself: `grpc-audit verify --db` and the viewer's verification must report each.
 */
import type BetterSqlite3 from "better-sqlite3";
import { expect } from "vitest";

/** The table rebuilt without its UNIQUE event id, and the row at seq 2 put in again (as seq n+1). */
export function putRowTwice(db: BetterSqlite3.Database): void {
  const sql = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'events'").pluck().get() as string;
  expect(sql).toContain("event_id TEXT NOT NULL UNIQUE");
  db.exec(
    sql.replace(/CREATE TABLE "?events"?/, "CREATE TABLE events_x").replace("NOT NULL UNIQUE", "NOT NULL"),
  );
  db.exec(
    "INSERT INTO events_x SELECT * FROM events ORDER BY seq; DROP TABLE events; ALTER TABLE events_x RENAME TO events",
  );
  const columns =
    "event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, decision, request_id, trace_id, event";
  db.exec(`INSERT INTO events (${columns}) SELECT ${columns} FROM events WHERE seq = 2`);
}

/** The target index swapped for one that lacks the rows of target p-3: `query` no longer finds them. */
export function hideRowFromIndex(db: BetterSqlite3.Database): void {
  db.unsafeMode(true);
  db.exec(
    "CREATE INDEX tmp_target ON events (target_type, target_id, occurred_at_ms) WHERE target_id <> 'p-3'",
  );
  const root = (name: string) =>
    db.prepare("SELECT rootpage FROM sqlite_master WHERE name = ?").pluck().get(name);
  const [partial, genuine] = [root("tmp_target"), root("events_target")];
  db.pragma("writable_schema = ON");
  db.prepare("UPDATE sqlite_master SET rootpage = ? WHERE name = 'events_target'").run(partial);
  db.prepare("UPDATE sqlite_master SET rootpage = ? WHERE name = 'tmp_target'").run(genuine);
  db.pragma("writable_schema = OFF");
}
