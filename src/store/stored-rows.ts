import { decodeEvent } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/**
 * A stored row whose event cannot be read back (damaged bytes, or bytes that disagree with the row's
 * own id and time columns). Pages skip it and name it in `undecodable`, so one bad row never hides
 * the others.
 */
export interface UndecodableRow {
  /** The row's insertion position. */
  seq: number;
  /** The row's event id column. */
  eventId: string;
  /** The row's time column, in ms since the epoch. */
  occurredAtMs: number;
  /** How many of the page's events come before it, so a listing can show it in its place. */
  index: number;
  /** Why it cannot be read: a decoder message, never the stored bytes. */
  reason: string;
}

/** The columns a page selects. */
export interface StoredRow {
  seq: number;
  event_id: string;
  occurred_at_ms: number;
  /** A BLOB unless the file was damaged or written by something else. */
  event: unknown;
}

/** Decodes the rows of a page, in order, setting aside those that do not give back a valid event. */
export function decodeRows(rows: readonly StoredRow[]): {
  events: AuditEvent[];
  undecodable: UndecodableRow[];
} {
  const events: AuditEvent[] = [];
  const undecodable: UndecodableRow[] = [];
  for (const row of rows) {
    const decoded = decodeRow(row);
    if (typeof decoded === "string") {
      undecodable.push({
        seq: row.seq,
        eventId: String(row.event_id),
        occurredAtMs: Number(row.occurred_at_ms),
        index: events.length,
        reason: decoded,
      });
    } else events.push(decoded);
  }
  return { events, undecodable };
}

/** The row's event, or why there is none. */
function decodeRow(row: StoredRow): AuditEvent | string {
  if (!(row.event instanceof Uint8Array)) return "the stored event is not a protobuf BLOB";
  let event: AuditEvent;
  try {
    event = decodeEvent(row.event);
  } catch (error) {
    return `the stored bytes are not an AuditEvent (${error instanceof Error ? error.message : String(error)})`;
  }
  // Garbage can decode without an error: the row's own columns tell whether it is this row's event.
  if (event.eventId !== row.event_id) return "the stored event's id does not match its row";
  const time = event.occurredAt?.getTime() ?? 0;
  if (!Number.isFinite(time) || time !== row.occurred_at_ms) {
    return "the stored event's time does not match its row";
  }
  return event;
}
