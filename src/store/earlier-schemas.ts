import type { Database } from "better-sqlite3";
import { decisionOf } from "../event/event-columns.js";
import { decodeEvent } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/** The columns added after schema version 1, with the version that added each. */
const ADDED_COLUMNS = [
  ["decision", 2],
  ["request_id", 3],
  ["trace_id", 3],
] as const;

/**
 * A read-only connection cannot migrate a store written by an earlier version, whose rows lack the
 * columns added since (`backfillColumns`): every statement naming them (stats, tail, the decision,
 * request id and trace id filters) would fail with "no such column". A temporary view named `events`
 * (temporary objects live outside the file, so a read-only connection may create them, and they are
 * found before the file's table) gives each missing column the value `backfillColumns` would store,
 * read from the row's event; "" for an event that cannot be decoded, as there.
 * @internal
 */
export function readAnyVersion(db: Database, version: number): void {
  if (version >= 3) return;
  db.function("grpc_audit_added_column", { deterministic: true }, (bytes: unknown, column: unknown) => {
    if (!(bytes instanceof Uint8Array)) return "";
    let event: AuditEvent;
    try {
      event = decodeEvent(bytes);
    } catch {
      return "";
    }
    return column === "decision"
      ? decisionOf(event)
      : column === "request_id"
        ? event.requestId
        : event.traceId;
  });
  const added = ADDED_COLUMNS.map(([column, since]) =>
    version < since ? `grpc_audit_added_column(event, '${column}') AS ${column}` : column,
  );
  db.exec(`CREATE TEMP VIEW events AS
    SELECT seq, event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id,
      success, code, ${added.join(", ")}, event
    FROM main.events`);
}

/**
 * Rows written by an earlier schema version lack the values of the columns added since (the authz
 * decision from version 2, request and trace ids from version 3): read them from the stored events. A
 * row whose event cannot be decoded keeps the defaults (the CLI shows it as unreadable), and never
 * stops the store from opening. Runs in the transaction that adds the columns (`prepareSchema`).
 * @internal
 */
export function backfillColumns(db: Database, from: number): void {
  const rows = db.prepare("SELECT seq, event FROM events").iterate() as Iterable<{
    seq: number;
    event: Uint8Array;
  }>;
  const update = db.prepare(
    from < 2
      ? "UPDATE events SET decision = ?, request_id = ?, trace_id = ? WHERE seq = ?"
      : "UPDATE events SET request_id = ?, trace_id = ? WHERE seq = ?",
  );
  // Only the new values are kept while reading (the connection cannot update while it iterates).
  const updates: (string | number)[][] = [];
  for (const row of rows) {
    let event: AuditEvent;
    try {
      event = decodeEvent(row.event);
    } catch {
      continue; // undecodable: left with the defaults
    }
    const ids = [event.requestId, event.traceId, row.seq];
    updates.push(from < 2 ? [decisionOf(event), ...ids] : ids);
  }
  for (const values of updates) update.run(...values); // inside the migration's transaction
}
