// Page positions and the opaque cursors that carry them between pages, for both stores.
import { AuditInputError } from "../errors/index.js";

/**
 * A row's place in the order of pages (time, then seq, then in the PostgreSQL store the event id),
 * exactly as the store holds it. @internal
 *
 * A SQLite file edited from outside may hold in a row's time column a whole number past 2^53, a
 * fraction, text or bytes, and a page still lists the row (as unreadable): its cursor must name that
 * value exactly, or paging past the row fails or finds the row again.
 */
export interface PagePosition {
  /**
   * The time column: a whole number (a bigint, or a number up to 2^53), a fraction, text as stored,
   * bytes, or text as a JavaScript string (only from the cursor of an earlier version).
   */
  at: bigint | number | StoredText | Uint8Array | string;
  /** The row's seq. */
  seq: bigint | number;
  /**
   * The row's event id as stored (its bytes), for a store whose (time, seq) may name several rows:
   * the PostgreSQL store's seq has no unique index, and rows put in from outside may share one. Its
   * pages then end inside a position and the next one starts after this id. Absent in the SQLite
   * store's cursors (seq is the rowid) and in the PostgreSQL store's cursors of earlier versions.
   */
  id?: Uint8Array;
}

/**
 * Text in a time column, as its stored bytes (`CAST(occurred_at_ms AS BLOB)`), valid UTF-8 or not.
 * better-sqlite3 reads invalid UTF-8 (`CAST(x'80' AS TEXT)`) as U+FFFD, whose bytes (EF BF BD) sort
 * above the stored ones: a cursor made of what it read started the next page at the same row again.
 * @internal
 */
export interface StoredText {
  text: Uint8Array;
}

/** Whether a page position's time is text as stored. @internal */
export function isStoredText(at: PagePosition["at"]): at is StoredText {
  return typeof at === "object" && !(at instanceof Uint8Array);
}

/**
 * A page of at most `limit` rows out of `rows`, read one beyond the page (that row says a next page
 * exists), decoded by `decode`, with the cursor after its last row. @internal
 */
export function pageOf<R extends { position: PagePosition }, D extends { events: unknown }>(
  rows: readonly R[],
  limit: number,
  decode: (rows: R[]) => D,
): { events: D["events"]; nextCursor: string | undefined } & Omit<D, "events"> {
  const pageRows = rows.slice(0, limit);
  const last = pageRows[pageRows.length - 1];
  const { events, ...problems } = decode(pageRows);
  const more = rows.length > limit && last !== undefined;
  return {
    events,
    nextCursor: more ? encodeCursor(last.position.at, last.position.seq, last.position.id) : undefined,
    ...problems,
  };
}

/** The smallest and largest values of a 64-bit integer column (SQLite's INTEGER, PostgreSQL's bigint). */
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The opaque cursor of the page after the row at (time, seq): `<time>:<seq>`, base64url. A whole
 * time is written as digits (the cursors of earlier versions), a number past 2^53 or a fraction as
 * `r<number>`, text as its stored bytes `s<hex>`, bytes as `b<hex>`, and text as earlier versions
 * wrote it (a JavaScript string) as `t<text>`. With the row's event id (`PagePosition.id`, the
 * PostgreSQL store's), `<time>:<seq>:i<hex of its bytes>`. @internal
 */
export function encodeCursor(
  at: PagePosition["at"],
  seq: PagePosition["seq"],
  id?: PagePosition["id"],
): string {
  const time =
    typeof at === "bigint" || (typeof at === "number" && Number.isSafeInteger(at))
      ? String(BigInt(at))
      : typeof at === "number"
        ? `r${at}`
        : typeof at === "string"
          ? `t${at}`
          : isStoredText(at)
            ? `s${Buffer.from(at.text).toString("hex")}`
            : `b${Buffer.from(at).toString("hex")}`;
  const afterId = id === undefined ? "" : `:i${Buffer.from(cursorId(id)).toString("hex")}`;
  return Buffer.from(`${time}:${seq}${afterId}`).toString("base64url");
}

/** The longest event id a cursor carries: its hex in base64url stays well under a request line's limits. */
const MAX_CURSOR_ID_BYTES = 1024;

/**
 * The id a cursor carries for a row's `id`: the id itself, or for one too long for a URL (only a row
 * put in from outside has one) its longest prefix of whole UTF-8 characters within
 * MAX_CURSOR_ID_BYTES. In byte order ("C") an id shorter than that prefix sorts below the prefix
 * exactly when it sorts below the whole id, so the next page still starts at the same row for every
 * such id; only longer ids sharing the prefix may be passed over.
 */
function cursorId(id: Uint8Array): Uint8Array {
  if (id.length <= MAX_CURSOR_ID_BYTES) return id;
  let end = MAX_CURSOR_ID_BYTES;
  while (end > 0 && ((id[end] ?? 0) & 0xc0) === 0x80) end--; // not inside a character
  return id.subarray(0, end);
}

/** Reads a cursor made by `encodeCursor`; throws an AuditInputError for anything else. @internal */
export function decodeCursor(cursor: string): PagePosition {
  const position =
    typeof cursor === "string" ? positionOf(Buffer.from(cursor, "base64url").toString()) : undefined;
  // Only the exact text encodeCursor writes: base64url decoding skips characters it does not know and
  // BigInt reads "04" as 4, so an altered cursor would still name some position.
  if (position === undefined || encodeCursor(position.at, position.seq, position.id) !== cursor) {
    throw new AuditInputError("audit query: the cursor is not one this store made");
  }
  return position;
}

/**
 * The position a cursor's text names, or undefined. Its seq is one a page lists (a 64-bit integer up
 * to 2^53 - 1: rows beyond are left out of pages), its time any value a time column can hold.
 */
function positionOf(text: string): PagePosition | undefined {
  // An id ends the text as `:i<hex>`, which a cursor without one never does (it ends in its seq's digits).
  const withId = /:i((?:[0-9a-f]{2})*)$/.exec(text);
  if (withId === null) return timeAndSeqOf(text);
  const position = timeAndSeqOf(text.slice(0, withId.index));
  const id = Buffer.from(withId[1] ?? "", "hex");
  // An id a store holds: text without U+0000 (PostgreSQL's text has none), as no edit may make a
  // query the database refuses.
  return position === undefined || !isStoredId(id) ? undefined : { ...position, id };
}

function isStoredId(id: Buffer): boolean {
  if (id.length > MAX_CURSOR_ID_BYTES || id.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(id);
    return true;
  } catch {
    return false;
  }
}

/** The time and seq of a cursor's text (without its id), or undefined. */
function timeAndSeqOf(text: string): PagePosition | undefined {
  const colon = text.lastIndexOf(":");
  const [time, seqText] = [text.slice(0, colon), text.slice(colon + 1)];
  if (colon < 0 || !/^-?\d{1,19}$/.test(seqText)) return undefined;
  const seq = BigInt(seqText);
  if (seq < INT64_MIN || seq > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  if (/^-?\d{1,19}$/.test(time)) {
    const at = BigInt(time);
    return at < INT64_MIN || at > INT64_MAX ? undefined : { at, seq };
  }
  const value = time.slice(1);
  switch (time[0]) {
    case "r": {
      const at = Number(value);
      return value === "" || Number.isNaN(at) ? undefined : { at, seq };
    }
    case "t":
      return { at: value, seq };
    case "s":
      return isHex(value) ? { at: { text: Buffer.from(value, "hex") }, seq } : undefined;
    case "b":
      return isHex(value) ? { at: Buffer.from(value, "hex"), seq } : undefined;
    default:
      return undefined;
  }
}

/** Whole bytes in lowercase hex, as `encodeCursor` writes them ("" is no bytes). */
function isHex(text: string): boolean {
  return /^(?:[0-9a-f]{2})*$/.test(text);
}
