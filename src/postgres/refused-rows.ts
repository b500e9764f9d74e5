import { AuditError } from "../errors/index.js";
import type { EventColumns } from "../event/event-columns.js";
import { decodeEvent } from "../event/serialize.js";

/**
 * A batch the store refused, nothing of it stored, for some of its rows that no retry of the same
 * store can take: an event whose month has no partition this role may create, or whose id holds
 * U+0000. `eventIds` names those rows; the others go in once they are apart. An ingester sees
 * `refusesRows` and inserts the batch in halves to dead-letter them; the store's sink drops those of
 * an id with U+0000 and has the others retried (see `sinkInsert`). `code` is the SQLSTATE behind the refusal.
 * @internal
 */
export class RefusedRowsError extends AuditError {
  /** The class name, "RefusedRowsError", as `String(error)` and logs show it. */
  override name = "RefusedRowsError";
  /** Marks a refusal of rows, not of the batch: what an ingester looks for. */
  readonly refusesRows = true;
  readonly code: string;
  readonly eventIds: readonly string[];

  constructor(message: string, options: { code: string; eventIds: readonly string[]; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.eventIds = Object.freeze([...options.eventIds]);
  }
}

/** PostgreSQL's character_not_in_repertoire, as it refuses U+0000 in text. @internal */
export const NUL_IN_TEXT = "22021";

/**
 * The event id of row `i`. The id column holds U+FFFD for each U+0000 (`noNul`): for such a row
 * the id is read from the event's bytes.
 * @internal
 */
export function eventIdAt(batch: EventColumns, i: number): string {
  const column = batch.ids[i] as string;
  if (!column.includes("\uFFFD")) return column;
  try {
    return decodeEvent(batch.events[i] as Uint8Array).eventId;
  } catch {
    return column;
  }
}

/**
 * A refusal of the rows whose event id holds U+0000, or undefined when none does. PostgreSQL's text
 * cannot hold it, and its key column would hold U+FFFD instead (`noNul`): "evt\0x" and "evt\uFFFDx"
 * would be one key, and the second event would be skipped as stored.
 * @internal
 */
export function nulIdRefusal(batch: EventColumns, store: string): RefusedRowsError | undefined {
  const ids: string[] = [];
  for (let i = 0; i < batch.length; i++) {
    const id = eventIdAt(batch, i);
    if (id.includes("\0")) ids.push(id);
  }
  if (ids.length === 0) return undefined;
  const shown = JSON.stringify(ids[0]);
  const more = ids.length === 1 ? "" : ` (and ${ids.length - 1} more)`;
  return new RefusedRowsError(
    `postgres store ${store}: event id ${shown}${more} holds U+0000, which PostgreSQL text cannot hold: not stored`,
    { code: NUL_IN_TEXT, eventIds: ids },
  );
}
