import type { Database } from "better-sqlite3";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { isStoredText, type PagePosition, pageOf } from "./page-cursor.js";
import {
  AFTER_CURSOR,
  AFTER_TEXT_CURSOR,
  type AuditPage,
  type AuditQuery,
  type AuditStats,
  buildWhere,
  checkTail,
  IN_DATE_RANGE,
  type PageOptions,
  resolvePage,
} from "./query.js";
import {
  ABOVE_LAST_POSITION,
  aboveLastPosition,
  BELOW_FIRST_POSITION,
  belowFirstPosition,
  decodeRows,
  type EditedRow,
  FILTER_COLUMNS,
  type FilterColumns,
  IN_POSITION_RANGE,
  type StoredRow,
  type UndecodableRow,
  withProblems,
} from "./stored-rows.js";

/**
 * What `tail(0)` says of the position the store gives its next row, when that is wrong: a `problem`
 * (the store refuses every new event, or stores it where no query reads it: changed from outside,
 * which `grpc-audit verify` reports as modified), or why it was `unchecked` (a PostgreSQL role that
 * may not read the sequence).
 * @internal
 */
export type NextPosition = { where: string; problem: string } | { unchecked: string };

/** The read side of a store: pages, following, counts (documented on `AuditStore`). @internal */
export interface StoreReads {
  query(filter?: AuditQuery, page?: PageOptions): AuditPage;
  tail(
    afterSeq: number,
    limit?: number,
  ): {
    events: AuditEvent[];
    lastSeq: number;
    undecodable?: UndecodableRow[];
    edited?: EditedRow[];
    nextPosition?: NextPosition;
  };
  lastSeq(): number;
  stats(filter?: AuditQuery): AuditStats;
}

/** The reads of the store open as `db`. @internal */
export function storeReads(db: Database): StoreReads {
  /** The page's events, and its unreadable rows when there are any (never a throw for one bad row). */
  const readRows = (rows: readonly StoredRow[]) => withProblems(decodeRows(rows));
  /** Rows at a position below 1 (see `belowFirstPosition`), for a tail from the start. */
  const belowFirstSeq = (limit: number): UndecodableRow[] =>
    belowFirstPosition(
      db
        .prepare(`SELECT seq, event_id, occurred_at_ms FROM events ${BELOW_FIRST_POSITION} LIMIT ?`)
        .all(limit) as Omit<StoredRow, "event">[],
    );
  /** Rows at a position above 2^53 - 1 (see `aboveLastPosition`), for a tail from the start. */
  const aboveLastSeq = (limit: number): UndecodableRow[] =>
    aboveLastPosition(
      db
        .prepare(
          `SELECT CAST(seq AS TEXT) seq, event_id, occurred_at_ms FROM events ${ABOVE_LAST_POSITION} LIMIT ?`,
        )
        .all(limit) as { seq: string; event_id: string; occurred_at_ms: number }[],
    );
  /**
   * The store's next position when the writer would refuse it (above 2^53 - 1; see store-writer.ts):
   * AUTOINCREMENT gives one past both sqlite_sequence (read as SQLite reads it, CAST) and the highest row.
   */
  const nextPosition = (): NextPosition | undefined => {
    const counter =
      db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").get() === undefined
        ? "0"
        : "coalesce((SELECT CAST(seq AS INTEGER) FROM sqlite_sequence WHERE name = 'events'), 0)";
    const highest = db
      .prepare(`SELECT max(${counter}, coalesce((SELECT max(seq) FROM events), 0))`)
      .pluck()
      .safeIntegers()
      .get() as unknown;
    // A whole number: seq is an INTEGER PRIMARY KEY, and the counter is CAST.
    if (typeof highest !== "bigint" || highest < BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    return { where: "the store file", problem: positionsUsedUp(highest) };
  };
  return {
    query(filter = {}, page = {}) {
      const { limit, cursor } = resolvePage(page);
      const where = buildWhere(filter);
      where.clauses.push(IN_POSITION_RANGE); // rows beyond it are named by tail(0), what verify reads
      if (cursor !== undefined) {
        const { at, seq } = cursor;
        where.clauses.push(isStoredText(at) ? AFTER_TEXT_CURSOR : AFTER_CURSOR);
        where.params.push(isStoredText(at) ? at.text : at, seq);
      }
      // Whole numbers as bigints: the cursor names the last row's time and seq exactly, also a time
      // past 2^53 (edited from outside) that a number would round to another position. Text (edited
      // from outside too) also as its stored bytes, which a string read from invalid UTF-8 is not.
      const rows = db
        .prepare(
          `SELECT seq, event_id, occurred_at_ms, event, ${TEXT_AT} FROM events ${where.sql()} ORDER BY occurred_at_ms DESC, seq DESC LIMIT ?`,
        )
        .safeIntegers()
        .all(...where.params, limit + 1) as ExactRow[];
      return pageOf(rows.map(pageRow), limit, readRows);
    },
    tail(afterSeq, limit = 500) {
      checkTail(afterSeq, limit);
      const rows = db
        .prepare(
          `SELECT seq, event_id, occurred_at_ms, event, ${FILTER_COLUMNS} FROM events WHERE seq > ? AND ${IN_POSITION_RANGE} ORDER BY seq LIMIT ?`,
        )
        .all(afterSeq, limit) as (StoredRow & FilterColumns)[];
      const { events, ...problems } = readRows(rows);
      // Read from the start (0): the rows below position 1 and above 2^53 - 1 are named too, and a
      // next position the writer refuses (which no row may show). Rows above 2^53 - 1 are the first
      // thing to repair (moved back), so the position is named once there are none.
      const above = afterSeq === 0 ? aboveLastSeq(limit) : [];
      const hidden = afterSeq === 0 ? [...belowFirstSeq(limit), ...above] : [];
      if (hidden.length > 0) problems.undecodable = [...hidden, ...(problems.undecodable ?? [])];
      const next = afterSeq === 0 && above.length === 0 ? nextPosition() : undefined;
      const page = { events, lastSeq: rows[rows.length - 1]?.seq ?? afterSeq, ...problems };
      return next === undefined ? page : { ...page, nextPosition: next };
    },
    lastSeq: () => Number(db.prepare("SELECT coalesce(max(seq), 0) FROM events").pluck().get()),
    stats(filter = {}) {
      const where = buildWhere(filter);
      const all = (sql: string) => db.prepare(sql).all(...where.params) as Record<string, string | number>[];
      const counts = (rows: Record<string, string | number>[], key: string) =>
        Object.fromEntries(rows.map((r) => [String(r[key]), Number(r.n)]));
      const whereAnd = (extra: string) =>
        where.clauses.length === 0 ? `WHERE ${extra}` : `${where.sql()} AND ${extra}`;
      return {
        total: Number(all(`SELECT count(*) n FROM events ${where.sql()}`)[0]?.n ?? 0),
        byType: counts(
          all(`SELECT event_type k, count(*) n FROM events ${where.sql()} GROUP BY k ORDER BY k`),
          "k",
        ),
        byResult: counts(
          all(
            `SELECT CASE success WHEN 1 THEN 'success' ELSE 'failure' END k, count(*) n FROM events ${where.sql()} GROUP BY k ORDER BY k`,
          ),
          "k",
        ),
        byDecision: counts(
          all(
            `SELECT decision k, count(*) n FROM events ${whereAnd("decision != ''")} GROUP BY k ORDER BY k`,
          ),
          "k",
        ),
        topOperations: all(
          `SELECT operation, count(*) n FROM events ${whereAnd("operation != ''")} GROUP BY operation ORDER BY n DESC, operation LIMIT 10`,
        ).map((r) => ({ operation: String(r.operation), count: Number(r.n) })),
        perHour: all(
          // SQLite's integer division truncates toward zero: 1 is taken off a negative remainder, so an
          // event before 1970 counts in the hour it occurred in (floor), not in the one after it. Only
          // times a Date holds: text or bytes would count as 1970, and a time beyond ±8.64e15 ms is no
          // hour toISOString can write (it throws, and the whole of the stats with it).
          `SELECT occurred_at_ms / 3600000 - (occurred_at_ms % 3600000 < 0) h, count(*) n FROM events ${whereAnd(`typeof(occurred_at_ms) = 'integer' AND ${IN_DATE_RANGE}`)} GROUP BY h ORDER BY h`,
        ).map((r) => ({
          hour: new Date(Number(r.h) * 3_600_000).toISOString(),
          count: Number(r.n),
        })),
      };
    },
  };
}

/** Why the store refuses every new event, and the statement that repairs it (as the writer's error names). */
function positionsUsedUp(highest: bigint): string {
  return (
    `the store refuses every new event: the highest position it gave is ${highest} (sqlite_sequence, or a row), so the next would be above 2^53 - 1, where no query could read it; changed from outside. ` +
    `Move rows above 2^53 - 1 back, then set it back: UPDATE sqlite_sequence SET seq = (SELECT coalesce(max(seq), 0) FROM events WHERE seq <= ${Number.MAX_SAFE_INTEGER}) WHERE name = 'events'`
  );
}

/** A text time's stored bytes, as `text_at` (null for a time of another type). */
const TEXT_AT = "CASE typeof(occurred_at_ms) WHEN 'text' THEN CAST(occurred_at_ms AS BLOB) END AS text_at";

/** A page's row as read with safe integers: seq and a whole time as bigints; a text time's bytes. */
interface ExactRow {
  seq: bigint;
  event_id: unknown;
  occurred_at_ms: bigint | number | string | Uint8Array;
  event: unknown;
  text_at: Uint8Array | null;
}

/** The row as the stores' row decoding takes it (numbers), with its exact position for the cursor. */
function pageRow(row: ExactRow): StoredRow & { position: PagePosition } {
  const at = row.occurred_at_ms;
  return {
    seq: Number(row.seq),
    // An id column edited to a whole number stays one (a bigint): the row is undecodable either way.
    event_id: row.event_id as string,
    // Anything but a whole number goes on as read, as before: the row then does not match its event.
    occurred_at_ms: (typeof at === "bigint" ? Number(at) : at) as number,
    event: row.event,
    position: { at: row.text_at === null ? at : { text: row.text_at }, seq: row.seq },
  };
}
