import { AuditError } from "../errors/index.js";

/** SQLite's extended result code for a UNIQUE constraint, which the id of another event would break. */
const UNIQUE_ID = "SQLITE_CONSTRAINT_UNIQUE";

/**
 * Why a store refuses an event whose id it holds for another event (other bytes): a `newEventId` that
 * repeated an id. Names the id only, never either event's content.
 * @internal
 */
export function idTakenProblem(eventId: string): string {
  return `event id ${JSON.stringify(eventId)} is stored with another event (other bytes): not stored`;
}

/**
 * A batch the SQLite store refused, nothing of it stored, because one of its events has an id the
 * store holds for another event. The same bytes again are a redelivery, skipped without error; other
 * bytes would be lost without a word. `refusesRows` makes an ingester insert the batch in halves and
 * dead-letter that event alone; the store's sink has the delivery pipeline drop and count it.
 * @internal
 */
export class EventIdConflictError extends AuditError {
  /** The class name, "EventIdConflictError", as `String(error)` and logs show it. */
  override name = "EventIdConflictError";
  /** Marks a refusal of rows, not of the batch: what an ingester looks for. */
  readonly refusesRows = true;
  readonly code = UNIQUE_ID;
  readonly eventIds: readonly string[];

  constructor(path: string, eventId: string) {
    super(`audit store ${path}: ${idTakenProblem(eventId)}`);
    this.eventIds = Object.freeze([eventId]);
  }
}
