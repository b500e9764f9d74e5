import type { Database, Statement } from "better-sqlite3";

/** A spool row as SQLite returns it. @internal */
export interface RowData {
  id: number;
  event_id: string;
  event_type: string;
  bytes: Buffer;
}

/** The statements a Spool runs on its file, prepared once per connection. @internal */
export interface SpoolStatements {
  readonly insert: Statement<[number, string, string, Uint8Array, number]>;
  /** The oldest rows above an id, at most a count of them. */
  readonly select: Statement<[number, number], RowData>;
  /** Every row above an id, oldest first (iterated, to read past rows to skip). */
  readonly scan: Statement<[number], RowData>;
  readonly ids: Statement<[], number>;
  readonly has: Statement<[number], number>;
  readonly delete: Statement<[number]>;
  readonly tally: Statement<[number]>;
  readonly minId: Statement<[], number | null>;
  readonly countUpTo: Statement<[number], number>;
}

/** Prepares the statements of a Spool on `db`. @internal */
export function prepareSpoolStatements(db: Database): SpoolStatements {
  const columns = "SELECT id, event_id, event_type, bytes FROM spool";
  return {
    insert: db.prepare("INSERT INTO spool (id, event_id, event_type, bytes, size) VALUES (?, ?, ?, ?, ?)"),
    select: db.prepare(`${columns} WHERE id > ? ORDER BY id LIMIT ?`),
    scan: db.prepare(`${columns} WHERE id > ? ORDER BY id`),
    ids: db.prepare<[], number>("SELECT id FROM spool ORDER BY id").pluck(),
    has: db.prepare<[number], number>("SELECT count(*) FROM spool WHERE id = ?").pluck(),
    delete: db.prepare("DELETE FROM spool WHERE id = ?"),
    tally: db.prepare("UPDATE spool_tally SET rows = rows + ?"),
    minId: db.prepare<[], number | null>("SELECT min(id) FROM spool").pluck(),
    countUpTo: db.prepare<[number], number>("SELECT count(*) FROM spool WHERE id <= ?").pluck(),
  };
}

/** The rows, encoded bytes and largest id of the spool on `db` (which reads every page of the table). @internal */
export function spoolTotals(db: Database): { rows: number; bytes: number; maxId: number } {
  return db
    .prepare(
      "SELECT count(*) AS rows, coalesce(sum(size), 0) AS bytes, coalesce(max(id), 0) AS maxId FROM spool",
    )
    .get() as { rows: number; bytes: number; maxId: number };
}

/** The oldest `maxRows` rows above `afterId` whose id is not in `skip`. @internal */
export function readPast(
  statements: SpoolStatements,
  afterId: number,
  maxRows: number,
  skip: ReadonlyMap<number, unknown>,
): RowData[] {
  const found: RowData[] = [];
  for (const row of statements.scan.iterate(afterId)) {
    if (skip.has(row.id)) continue;
    found.push(row);
    if (found.length >= maxRows) break; // ends the iteration, which resets the statement
  }
  return found;
}

/** Inserts `rows` in one transaction, and counts them in the tally. @internal */
export function insertRows(
  db: Database,
  sql: SpoolStatements,
  rows: readonly { id: number; eventId: string; eventType: string; bytes: Uint8Array; size: number }[],
): void {
  db.transaction(() => {
    for (const row of rows) sql.insert.run(row.id, row.eventId, row.eventType, row.bytes, row.size);
    sql.tally.run(rows.length);
  })();
}

/**
 * Deletes the rows `ids` (id to encoded size) in one transaction, and takes them from the tally;
 * returns how many were there, and their bytes.
 * @internal
 */
export function deleteRows(
  db: Database,
  sql: SpoolStatements,
  ids: ReadonlyMap<number, number>,
): { deleted: number; bytes: number } {
  let deleted = 0;
  let bytes = 0;
  db.transaction(() => {
    for (const [id, size] of ids) {
      // A row salvaged from a damaged file may be missing: count only what was there.
      if (sql.delete.run(id).changes === 0) continue;
      deleted++;
      bytes += size;
    }
    sql.tally.run(-deleted);
  })();
  return { deleted, bytes };
}
