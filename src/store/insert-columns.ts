import type { Database } from "better-sqlite3";
import type { EventColumns } from "../event/event-columns.js";

/**
 * Inserts a batch given as the stored columns and each event's protobuf bytes, as an ingester reads
 * them from a broker, in one transaction, with the store's own insert (`insertRow`: its INSERT OR IGNORE
 * statement's values are the columns in the order below, then the event; it returns the rows added). The bytes are stored as they came:
 * encoding the decoded event again would drop the fields of a newer schema, altering the evidence.
 * Returns a function that resolves to how many rows were new.
 * @internal
 */
export function columnInserter(
  db: Database,
  insertRow: (...values: unknown[]) => number,
): (batch: EventColumns) => number {
  return db.transaction((batch: EventColumns) => {
    let inserted = 0;
    for (let i = 0; i < batch.length; i++) {
      inserted += insertRow(
        batch.ids[i],
        batch.kinds[i],
        batch.times[i],
        batch.services[i],
        batch.operations[i],
        batch.actorIds[i],
        batch.targetTypes[i],
        batch.targetIds[i],
        batch.success[i] === true ? 1 : 0,
        batch.codes[i],
        batch.decisions[i],
        batch.requestIds[i],
        batch.traceIds[i],
        batch.events[i],
      );
    }
    return inserted;
  });
}
