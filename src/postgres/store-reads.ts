import type pg from "pg";
import { AuditInputError } from "../errors/index.js";
import { noNul } from "../event/event-columns.js";
import { decodeEvent } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { AuditPage } from "../store/audit-store.js";
import { type PagePosition, pageOf } from "../store/page-cursor.js";
import {
  type AuditQuery,
  type AuditStats,
  buildWhere,
  checkTail,
  type PageOptions,
  resolvePage,
  type Where,
} from "../store/query.js";
import type { NextPosition } from "../store/store-reads.js";
import {
  ABOVE_LAST_POSITION,
  aboveLastPosition,
  BELOW_FIRST_POSITION,
  belowFirstPosition,
  decodeRows,
  type EditedRow,
  FILTER_COLUMNS,
  IN_POSITION_RANGE,
  type StoredRow,
  type UndecodableRow,
  withProblems,
} from "../store/stored-rows.js";
import { nextPosition, numbered, queryStats } from "./queries.js";
import { EVENTS_TABLE } from "./schema.js";

const COLUMNS = "seq, event_id, occurred_at_ms, event";

/**
 * The last key of the order of pages. seq has no unique index, and rows put in from outside may share
 * a row's time and seq, but not its time and event id (the primary key): (time, seq, id) orders every
 * row, and a page's cursor names its last row exactly. Ids in byte order (`COLLATE "C"`, as `tail`),
 * whatever the database's collation.
 */
const PAGE_ID = 'event_id COLLATE "C"';

/** Runs one statement within `queryTimeoutMs` and resolves to its rows (the store's `read`). @internal */
export type ReadStatement = <R extends pg.QueryResultRow>(sql: string, params: unknown[]) => Promise<R[]>;

/** The PostgreSQL store's reads (`query`, `tail`, `lastSeq`, `stats`), each statement run by `read`. @internal */
export function createStoreReads(read: ReadStatement) {
  /** Rows as the stores' row decoding takes them: pg gives bigint columns as strings. */
  const readRows = async (sql: string, params: unknown[]) => {
    const rows = await read<
      Omit<StoredRow, "seq" | "occurred_at_ms"> & { seq: string; occurred_at_ms: string }
    >(sql, params);
    return rows.map((row): StoredRow & { position: PagePosition } => ({
      ...row,
      event_id: storedId(row.event_id, row.event),
      seq: Number(row.seq),
      occurred_at_ms: Number(row.occurred_at_ms),
      // Exact, for the cursor: a time past 2^53 (a partition added from outside) rounds as a number;
      // the id as the column holds it (not storedId's).
      position: { at: BigInt(row.occurred_at_ms), seq: BigInt(row.seq), id: Buffer.from(row.event_id) },
    }));
  };
  const decoded = (rows: readonly StoredRow[]) => withProblems(decodeRows(rows));

  return {
    async query(filter: AuditQuery = {}, page: PageOptions = {}): Promise<AuditPage> {
      const { limit, cursor } = resolvePage(page);
      const where = withoutNul(buildWhere(filter));
      where.clauses.push(IN_POSITION_RANGE); // rows beyond it are named by tail(0), what verify reads
      if (cursor !== undefined) {
        // The columns are bigints: a time of another kind (from a SQLite store's page) is no position here.
        if (typeof cursor.at !== "bigint")
          throw new AuditInputError("audit query: the cursor is not one this store made");
        // The time index serves both: PostgreSQL reads it from `occurred_at_ms <= ?`, the row
        // value's first column. A cursor without an id (of an earlier version) starts after every
        // row at its position.
        if (cursor.id === undefined) {
          where.clauses.push("(occurred_at_ms, seq) < (?, ?)");
          where.params.push(String(cursor.at), String(cursor.seq));
        } else {
          where.clauses.push(`(occurred_at_ms, seq, ${PAGE_ID}) < (?, ?, ?)`);
          where.params.push(String(cursor.at), String(cursor.seq), Buffer.from(cursor.id).toString());
        }
      }
      const rows = await readRows(
        numbered(
          `SELECT ${COLUMNS} FROM ${EVENTS_TABLE} ${where.sql()}
           ORDER BY occurred_at_ms DESC, seq DESC, ${PAGE_ID} DESC LIMIT ?`,
        ),
        [...where.params, limit + 1],
      );
      return pageOf(rows, limit, decoded);
    },
    async tail(
      afterSeq: number,
      limit = 500,
    ): Promise<{ events: AuditEvent[]; lastSeq: number } & TailProblems> {
      checkTail(afterSeq, limit);
      // seq has no unique index: rows put in from outside may share one. A page ends after every row
      // at its last position (the limit-th row's), never inside them, so the next page, which starts
      // after that position, skips none: the page may hold more than `limit` rows.
      const after = `seq > $1 AND ${IN_POSITION_RANGE}`;
      const rows = await readRows(
        `SELECT ${COLUMNS}, ${FILTER_COLUMNS} FROM ${EVENTS_TABLE} WHERE ${after}
           AND seq <= coalesce((SELECT seq FROM ${EVENTS_TABLE} WHERE ${after} ORDER BY seq OFFSET $2 LIMIT 1), ${Number.MAX_SAFE_INTEGER})
         ORDER BY seq, event_id COLLATE "C"`,
        [afterSeq, limit - 1],
      );
      const { events, ...decodeProblems } = decoded(rows);
      const problems: TailProblems = decodeProblems;
      const shared = sharedPositions(rows);
      if (shared.length > 0) problems.shared = shared;
      // Read from the start: the rows below position 1 and above 2^53 - 1 are named too.
      if (afterSeq === 0) {
        // Read first: the rows' reads stay the last statements of a page, as for any other page.
        const next = await nextPosition(read);
        const below = await readRows(
          `SELECT ${COLUMNS} FROM ${EVENTS_TABLE} ${BELOW_FIRST_POSITION} LIMIT $1`,
          [limit],
        );
        const above = await read<{ seq: string; event_id: string; occurred_at_ms: string }>(
          `SELECT seq, event_id, occurred_at_ms FROM ${EVENTS_TABLE} ${ABOVE_LAST_POSITION} LIMIT $1`,
          [limit],
        );
        const hidden = [...belowFirstPosition(below), ...aboveLastPosition(above)];
        if (hidden.length > 0) problems.undecodable = [...hidden, ...(problems.undecodable ?? [])];
        // A next position the writers' rows would be hidden at (which no row may show yet); rows
        // above 2^53 - 1 are the first thing to repair, so it is named once there are none.
        if (next !== undefined && above.length === 0) problems.nextPosition = next;
      }
      return { events, lastSeq: rows[rows.length - 1]?.seq ?? afterSeq, ...problems };
    },
    async lastSeq(): Promise<number> {
      const rows = await read<{ n: string }>(`SELECT coalesce(max(seq), 0) n FROM ${EVENTS_TABLE}`, []);
      return Number(rows[0]?.n ?? 0);
    },
    stats: async (filter: AuditQuery = {}): Promise<AuditStats> =>
      queryStats(read, withoutNul(buildWhere(filter))),
  };
}

/** What a `tail` page found wrong besides its events. @internal */
export interface TailProblems {
  undecodable?: UndecodableRow[];
  edited?: EditedRow[];
  /** Positions more than one row holds (pages end after every row of a position). */
  shared?: SharedPosition[];
  /** From the start only: the sequence gives a wrong next position (see `nextPosition`). */
  nextPosition?: NextPosition;
}

/** Rows at one position (seq), which the store gives one row only: one was put in from outside. @internal */
export interface SharedPosition {
  seq: number;
  /** The event ids of its rows, in page order. */
  eventIds: string[];
}

/** The positions of `rows` (in seq order) that more than one row holds. */
function sharedPositions(rows: readonly StoredRow[]): SharedPosition[] {
  const shared: SharedPosition[] = [];
  for (let i = 1; i < rows.length; i++) {
    const [before, row] = [rows[i - 1], rows[i]];
    if (before === undefined || row === undefined || row.seq !== before.seq) continue;
    const last = shared[shared.length - 1];
    if (last?.seq === row.seq) last.eventIds.push(row.event_id);
    else shared.push({ seq: row.seq, eventIds: [before.event_id, row.event_id] });
  }
  return shared;
}

/**
 * The event id a row stands for. Its event_id column holds U+FFFD for each U+0000 of the id (noNul:
 * PostgreSQL's text cannot hold it) while the event's bytes keep the id as it was: for such a row the
 * id is taken from the event when the event's id gives the column (else the row is left to be found
 * undecodable), so that the stores' row check does not take an untouched row for a damaged one.
 */
function storedId(column: string, event: unknown): string {
  if (!column.includes("\uFFFD") || !(event instanceof Uint8Array)) return column;
  try {
    const id = decodeEvent(event).eventId;
    return id !== column && noNul(id) === column ? id : column;
  } catch {
    return column;
  }
}

/** The filter's text values as the columns hold them: U+0000 as U+FFFD (noNul), which PostgreSQL's text refuses. */
function withoutNul(where: Where): Where {
  for (let i = 0; i < where.params.length; i++) {
    const value = where.params[i];
    if (typeof value === "string") where.params[i] = noNul(value);
  }
  return where;
}
