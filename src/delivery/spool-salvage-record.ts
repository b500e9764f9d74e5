import type { Database } from "better-sqlite3";
import type { Salvage } from "./spool-schema.js";

/**
 * The report of a salvage, kept in the new spool from before it is renamed into place until the
 * report is made: a process killed in between leaves it to the next start, which makes it, so the
 * loss is never left unreported. A table of its own, dropped once reported: the schema version stays
 * the same, and every reader of that version accepts a spool with a table more.
 */
const TABLE = "spool_salvage";

/** What a salvage reports: through onError, and to onMovedAside. @internal */
export interface SalvageRecord {
  /** The report's words: what was wrong with the file, where it was moved, what the new spool holds. */
  readonly message: string;
  /** For onMovedAside: what was saved; undefined when the file was not read (not a spool of ours). */
  readonly salvage: Salvage | undefined;
}

/** Writes `record` into the new spool `db`, in one transaction. @internal */
export function writeSalvageRecord(db: Database, record: SalvageRecord): void {
  const { message, salvage } = record;
  db.transaction(() => {
    db.exec(`CREATE TABLE ${TABLE} (message TEXT NOT NULL, recovered INTEGER, lost INTEGER)`);
    db.prepare(`INSERT INTO ${TABLE} VALUES (?, ?, ?)`).run(
      message,
      salvage?.recovered ?? null,
      salvage?.lost ?? null,
    );
  })();
}

/** The record of a salvage not reported yet in the spool `db`, if there is one. @internal */
export function readSalvageRecord(db: Database): SalvageRecord | undefined {
  const tables = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
  if (tables.pluck().get(TABLE) === 0) return undefined;
  const row = db.prepare(`SELECT message, recovered, lost FROM ${TABLE}`).get() as
    | { message: unknown; recovered: unknown; lost: unknown }
    | undefined;
  if (row === undefined) return undefined;
  const lost = typeof row.lost === "number" ? row.lost : undefined;
  return {
    message: String(row.message),
    salvage: typeof row.recovered === "number" ? { recovered: row.recovered, lost } : undefined,
  };
}

/** Removes the record from the spool `db`, once reported. @internal */
export function dropSalvageRecord(db: Database): void {
  db.exec(`DROP TABLE ${TABLE}`);
}
