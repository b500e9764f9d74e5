/** Audit store files as an earlier version of the library wrote them, for migration tests. */
import BetterSqlite3 from "better-sqlite3";
import { eventKind } from "../../src/event/kinds.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { migrate } from "../../src/store/schema.js";

/**
 * Creates `path` at schema `version` and stores `events` with the columns schema 1 has (the columns
 * added later keep their defaults, as rows written before them do). Returns the open database.
 */
export function writeOldStore(
  path: string,
  version: number,
  events: readonly AuditEvent[],
): BetterSqlite3.Database {
  const db = new BetterSqlite3(path);
  migrate(db, version);
  const insert = db.prepare(
    "INSERT INTO events (event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, event) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
  );
  db.transaction(() => {
    for (const e of events) {
      insert.run(
        e.eventId,
        eventKind(e.eventType),
        e.occurredAt?.getTime(),
        e.service,
        e.operation,
        e.actor?.id ?? "",
        e.target?.type ?? "",
        e.target?.id ?? "",
        e.result?.success ? 1 : 0,
        e.result?.code ?? "",
        encodeEvent(e),
      );
    }
  })();
  return db;
}
