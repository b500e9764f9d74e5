import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { UndecodableRow } from "../store/stored-rows.js";
import { CliError, EXIT_FAILURE } from "./errors.js";
import { eventCells } from "./format.js";
import { visible } from "./safe-text.js";

/** One entry of a listing: an event, or a stored row whose event cannot be read. */
export type Listed = { event: AuditEvent } | { undecodable: UndecodableRow };

/** The events and unreadable rows of one page (or tail batch), in the page's order. */
export function inPageOrder(
  events: readonly AuditEvent[],
  undecodable: readonly UndecodableRow[] = [],
): Listed[] {
  const listed: Listed[] = events.map((event) => ({ event }));
  // From the last, so each index still counts only the events before it.
  for (const row of [...undecodable].reverse()) listed.splice(row.index, 0, { undecodable: row });
  return listed;
}

/** The table cells of an entry: the event's, or an error row naming the unreadable stored event. */
export function listedCells(listed: Listed): string[] {
  if ("event" in listed) return eventCells(listed.event);
  const { occurredAtMs, reason } = listed.undecodable;
  const time = new Date(occurredAtMs);
  return [
    Number.isFinite(time.getTime()) ? time.toISOString() : "",
    "unreadable",
    "",
    "",
    "",
    "",
    `${describe(listed.undecodable)} could not be decoded: ${reason}`,
  ];
}

/** Reports an unreadable stored event on stderr: its row and id, never its bytes. */
export function reportUndecodable(row: UndecodableRow): void {
  process.stderr.write(
    `error: ${visible(`${describe(row)} could not be decoded, skipped: ${row.reason}`)}\n`,
  );
}

/** What a command ends with after printing everything else, when some stored events could not be read. */
export function undecodableError(count: number): CliError {
  return new CliError(
    `${count} stored event${count === 1 ? "" : "s"} could not be decoded (reported above); every other matching event was printed`,
    EXIT_FAILURE,
  );
}

function describe(row: UndecodableRow): string {
  return `stored event ${row.eventId} (row ${row.seq})`;
}
