import type { Database, Statement } from "better-sqlite3";
import { openDamagedSpool } from "./spool-file.js";
import type { Salvage } from "./spool-schema.js";

type Row = { id: number; event_id: string; event_type: string; bytes: Buffer; size: number };

/** Rows written to the new spool per transaction while salvaging. */
const CHUNK_ROWS = 1000;

/**
 * Copies every row that can still be read from the damaged spool `from` (moved aside, opened
 * read-only) into the new spool `into`, keeping ids, so replay order is unchanged. Never throws: a
 * file that cannot be read at all yields nothing.
 *
 * Rows are read in id order. When a read fails (a damaged page), the next readable id is searched for
 * (doubling steps, then halving), and reading goes on from there: a damaged leaf page costs only its
 * own rows. What was lost is the file's tally (kept in the same transactions as the rows) minus what
 * was read.
 * @internal
 */
export function salvageSpool(from: string, into: Database): Salvage {
  let db: Database;
  try {
    db = openDamagedSpool(from);
  } catch {
    return { recovered: 0, lost: undefined };
  }
  try {
    const expected = readTally(db);
    const recovered = copyReadableRows(db, into);
    return { recovered, lost: expected === undefined ? undefined : Math.max(0, expected - recovered) };
  } finally {
    db.close();
  }
}

function readTally(db: Database): number | undefined {
  try {
    const rows: unknown = db.prepare("SELECT rows FROM spool_tally").pluck().get();
    return typeof rows === "number" ? rows : undefined;
  } catch {
    return undefined;
  }
}

function copyReadableRows(db: Database, into: Database): number {
  let scan: Statement<[number], Row>;
  let next: Statement<[number], number>;
  try {
    scan = db.prepare<[number], Row>(
      "SELECT id, event_id, event_type, bytes, size FROM spool WHERE id >= ? ORDER BY id",
    );
    next = db.prepare<[number], number>("SELECT id FROM spool WHERE id >= ? ORDER BY id LIMIT 1").pluck();
  } catch {
    return 0; // not even the schema can be read
  }
  const insert = into.prepare(
    "INSERT INTO spool (id, event_id, event_type, bytes, size) VALUES (@id, @event_id, @event_type, @bytes, @size)",
  );
  const tally = into.prepare("UPDATE spool_tally SET rows = rows + ?");
  const write = into.transaction((rows: Row[]) => {
    for (const row of rows) insert.run(row);
    tally.run(rows.length);
  });
  let recovered = 0;
  let chunk: Row[] = [];
  const flush = () => {
    write(chunk);
    recovered += chunk.length;
    chunk = [];
  };
  let from = Number.MIN_SAFE_INTEGER;
  let last = 0;
  for (;;) {
    try {
      for (const row of scan.iterate(from)) {
        chunk.push(row);
        last = row.id;
        if (chunk.length === CHUNK_ROWS) flush();
      }
      break; // read to the end
    } catch {
      const resume = resumeAfter(next, last);
      if (resume === undefined) break;
      from = resume;
      last = resume;
    }
  }
  flush();
  return recovered;
}

/**
 * The smallest id above `after` from which reading works again, or undefined when nothing after
 * `after` can be read. Seeking to an id on a damaged page fails; from the id after the page's last
 * row on, the seek takes another branch of the tree and works.
 */
function resumeAfter(next: Statement<[number], number>, after: number): number | undefined {
  const readable = (id: number): boolean => {
    try {
      next.get(id);
      return true;
    } catch {
      return false;
    }
  };
  let step = 1;
  while (!readable(after + step)) {
    if (after + step >= Number.MAX_SAFE_INTEGER / 2) return undefined;
    step *= 2;
  }
  let low = after;
  let high = after + step;
  while (high - low > 1) {
    const middle = low + Math.floor((high - low) / 2);
    if (readable(middle)) high = middle;
    else low = middle;
  }
  return high;
}

/**
 * The end of the report of a file moved aside: what the new spool started with, what was lost.
 * @internal
 */
export function describeSalvage(salvage: Salvage | undefined): string {
  if (salvage === undefined) return "started an empty spool";
  const { recovered, lost } = salvage;
  const rows = (n: number) => (n === 1 ? "1 row" : `${n} rows`);
  const loss =
    lost === undefined
      ? "an unknown number of rows may be lost (they cannot be counted)"
      : lost === 0
        ? "no row was lost"
        : `${rows(lost)} could not be read and ${lost === 1 ? "is" : "are"} lost`;
  return `started a new spool with the ${rows(recovered)} that could be read; ${loss}`;
}
