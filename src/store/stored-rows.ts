import { encodeEventView } from "../event/encode.js";
import { decisionOf, noNul } from "../event/event-columns.js";
import { eventKind } from "../event/kinds.js";
import { decodeEvent } from "../event/serialize.js";
import { invalidTime } from "../event/time.js";
import { unknownBytes } from "../event/unknown-bytes.js";
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

/**
 * A stored row whose filter columns are not what its event holds: edited in place, so that filters and
 * counts see another actor, target or result than the event (which is what the chain covers). Its
 * event is still returned. Only `tail` reads the columns to check them.
 */
export interface EditedRow {
  /** The row's insertion position. */
  seq: number;
  /** The row's event id column. */
  eventId: string;
  /** The first column found edited, such as "target_id". */
  column: string;
}

/** The columns a page selects. */
export interface StoredRow {
  seq: number;
  event_id: string;
  occurred_at_ms: number;
  /** A BLOB unless the file was damaged or written by something else. */
  event: unknown;
}

/**
 * The filter columns, as the stores write them from the event. `tail` (what `grpc-audit verify` and
 * `tail` read) selects them too, so that a row edited in place, hiding it from filters and counts while
 * its event still matches the chain, is caught; query pages skip the check, which would slow them.
 */
export interface FilterColumns {
  event_type: string;
  service: string;
  operation: string;
  actor_id: string;
  target_type: string;
  target_id: string;
  /** 0 or 1 in SQLite, a boolean in PostgreSQL. */
  success: number | boolean;
  code: string;
  decision: string;
  request_id: string;
  trace_id: string;
}

/** The SQL list of the filter columns, for a SELECT. */
export const FILTER_COLUMNS =
  "event_type, service, operation, actor_id, target_type, target_id, success, code, decision, request_id, trace_id";

/**
 * Decodes the rows of a page, in order, setting aside those that do not give back a valid event (bytes
 * that are not an event, or not the event of the row's id and time). Rows read with their filter
 * columns whose columns disagree with their event are `edited`; their events are kept. Rows read with
 * them whose bytes hold more than their event (see `addedBytes`) are set aside too.
 */
export function decodeRows(rows: readonly (StoredRow | (StoredRow & FilterColumns))[]): {
  events: AuditEvent[];
  undecodable: UndecodableRow[];
  edited: EditedRow[];
} {
  const events: AuditEvent[] = [];
  const undecodable: UndecodableRow[] = [];
  const edited: EditedRow[] = [];
  for (const row of rows) {
    const decoded = decodeRow(row, "event_type" in row);
    if (typeof decoded === "string") {
      undecodable.push({
        seq: row.seq,
        eventId: String(row.event_id),
        occurredAtMs: Number(row.occurred_at_ms),
        index: events.length,
        reason: decoded,
      });
      continue;
    }
    events.push(decoded);
    const column = "event_type" in row ? editedColumn(row, decoded) : undefined;
    if (column !== undefined) edited.push({ seq: row.seq, eventId: row.event_id, column });
  }
  return { events, undecodable, edited };
}

/**
 * The stores give rows the positions 1, 2, ...: a row at a position below 1 was moved or put there from
 * outside. A read from the start (`tail(0)`, what `grpc-audit verify` reads) would never reach it while
 * queries show it, so `tail(0)` names such rows (selected with `BELOW_FIRST_POSITION`) as unreadable.
 */
export function belowFirstPosition(rows: readonly Omit<StoredRow, "event">[]): UndecodableRow[] {
  return rows.map((row) => ({
    seq: row.seq,
    eventId: String(row.event_id),
    occurredAtMs: Number(row.occurred_at_ms),
    index: 0,
    reason:
      "its position (seq) is below 1, which the store never gives a row: it was moved or put there from outside",
  }));
}

/** The WHERE and ORDER of the rows `belowFirstPosition` names. */
export const BELOW_FIRST_POSITION = "WHERE seq < 1 ORDER BY seq";

/**
 * The positions a page reads: JavaScript numbers hold every whole number up to 2^53 - 1 exactly, and a
 * position above it would round, so a page would end at a position it did not read (skipping rows, or
 * reading some again for ever). The stores never get that far: such a row was moved or put there from
 * outside, and `tail(0)` names it (selected with `ABOVE_LAST_POSITION`, its seq read as text).
 */
export const IN_POSITION_RANGE = `seq <= ${Number.MAX_SAFE_INTEGER}`;

/** The WHERE and ORDER of the rows `aboveLastPosition` names. */
export const ABOVE_LAST_POSITION = `WHERE seq > ${Number.MAX_SAFE_INTEGER} ORDER BY seq`;

/** The rows above `IN_POSITION_RANGE`, their exact position (read as text) in the reason. */
export function aboveLastPosition(
  rows: readonly { seq: string; event_id: unknown; occurred_at_ms: unknown }[],
): UndecodableRow[] {
  return rows.map((row) => ({
    seq: Number(row.seq),
    eventId: String(row.event_id),
    occurredAtMs: Number(row.occurred_at_ms),
    index: 0,
    reason: `its position (seq ${row.seq}) is above 2^53 - 1, which the store never gives a row and cannot page past: it was moved or put there from outside`,
  }));
}

/** A page's events, with its undecodable and edited rows only when there are any. */
export function withProblems(decoded: ReturnType<typeof decodeRows>): {
  events: AuditEvent[];
  undecodable?: UndecodableRow[];
  edited?: EditedRow[];
} {
  const { events, undecodable, edited } = decoded;
  return {
    events,
    ...(undecodable.length > 0 ? { undecodable } : {}),
    ...(edited.length > 0 ? { edited } : {}),
  };
}

/** The row's event, or why there is none; `whole`: also why its bytes are not all its event's. */
function decodeRow(row: StoredRow, whole: boolean): AuditEvent | string {
  if (!(row.event instanceof Uint8Array)) return "the stored event is not a protobuf BLOB";
  let event: AuditEvent;
  try {
    event = decodeEvent(row.event);
  } catch (error) {
    return `the stored bytes are not an AuditEvent (${error instanceof Error ? error.message : String(error)})`;
  }
  // Garbage can decode without an error: the row's own columns tell whether it is this row's event.
  if (event.eventId !== row.event_id) return "the stored event's id does not match its row";
  // A time no Date holds decodes without an error, but no page could show the event.
  const invalid = invalidTime(event);
  if (invalid !== undefined) return invalid;
  if ((event.occurredAt?.getTime() ?? 0) !== row.occurred_at_ms) {
    return "the stored event's time does not match its row";
  }
  return (whole && addedBytes(row.event, event)) || event;
}

/**
 * Why `bytes`, which decoded to `event`, hold more than it, or undefined. The chain hash is taken over
 * the event's canonical encoding, so bytes the decoder reads past (a field the schema does not know,
 * appended in place) change the stored evidence, not the hash: a newer schema would read them. Rows
 * are their event's canonical encoding (`encodeEvent`, or the bytes a Recorder of this version
 * queued, which are that too), compared first (an encoding and a byte comparison). Others are
 * legitimate in any field order and may be longer than it: rows written before the encoding sorted
 * the attributes (ts-proto's order, `{"2", "10"}` as JavaScript lists them), or bytes an ingester
 * stored as another producer wrote them (a map entry with its empty value written, as Go's encoder
 * does; an explicit default; an over-long varint). Only they are walked, and only unknown fields are
 * named. A value written twice is not (telling it from a valid encoding needs each field's
 * cardinality, which the generated decoder does not expose): docs/evidence.md says what that leaves.
 */
function addedBytes(bytes: Uint8Array, event: AuditEvent): string | undefined {
  try {
    const encoded = encodeEventView(event);
    if (encoded.length === bytes.length && Buffer.compare(encoded, bytes) === 0) return undefined;
  } catch {
    return undefined; // as decodeEvent gave it: one the encoder refuses holds no bytes to compare
  }
  let unknown: number;
  try {
    unknown = unknownBytes(bytes);
  } catch {
    unknown = 0; // not after decodeEvent read the same bytes; never a reason to lose the page
  }
  return unknown > 0 ? `${NOT_ITS_ENCODING}: ${plural(unknown)} the event schema does not know` : undefined;
}

const NOT_ITS_ENCODING = "its stored bytes are not its event's encoding";

function plural(bytes: number): string {
  return `${bytes} byte${bytes === 1 ? "" : "s"}`;
}

/** The first filter column whose value is not what the store writes for `event`. */
function editedColumn(row: FilterColumns, event: AuditEvent): keyof FilterColumns | undefined {
  const written: Omit<FilterColumns, "success"> = {
    event_type: eventKind(event.eventType),
    service: event.service,
    operation: event.operation,
    actor_id: event.actor?.id ?? "",
    target_type: event.target?.type ?? "",
    target_id: event.target?.id ?? "",
    code: event.result?.code ?? "",
    decision: decisionOf(event),
    request_id: event.requestId,
    trace_id: event.traceId,
  };
  // Exactly what the stores write (SQLite 1 or 0, PostgreSQL a boolean): another value, such as 2 or
  // 'yes', is truthy to JavaScript but neither outcome to SQL (`success = 1`), so filters miss the row.
  const success = event.result?.success === true;
  if (row.success !== success && row.success !== (success ? 1 : 0)) return "success";
  for (const [column, value] of Object.entries(written) as [keyof typeof written, string][]) {
    // Text, as written: a BLOB of the same bytes reads as the same text but no `column = ?` filter
    // matches it. PostgreSQL's columns hold U+FFFD for U+0000, which its text cannot hold (noNul).
    const stored: unknown = row[column];
    if (typeof stored !== "string" || noNul(stored) !== noNul(value)) return column;
  }
  return undefined;
}
