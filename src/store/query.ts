import { AuditInputError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { AuthzOutcome } from "../event/builders.js";
import { EVENT_KINDS, type EventKind, isEventKind } from "../event/kinds.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { UndecodableRow } from "./stored-rows.js";

/** Filters of `AuditStore.query` and `stats`; all given filters must match. */
export interface AuditQuery {
  /** Events that occurred at or after this time. */
  from?: Date;
  /** Events that occurred before this time. */
  to?: Date;
  /** One kind or several ("authz.decision", ...). */
  type?: EventKind | readonly EventKind[];
  /** The actor's id, exactly. */
  actorId?: string;
  /** The target's type, exactly, such as "project". */
  targetType?: string;
  /** The target's id, exactly. */
  targetId?: string;
  /** Full method path. */
  operation?: string;
  /** The recording service's name, exactly. */
  service?: string;
  /** Only successful (true) or failed (false) outcomes. */
  success?: boolean;
  /** Only authz decisions with this outcome. */
  decision?: AuthzOutcome;
  /** The events of one call: its request id (the caller's `x-request-id`, or the generated one). */
  requestId?: string;
  /** The events of one W3C trace (32 lowercase hex digits). */
  traceId?: string;
  /** The one event with this id. */
  eventId?: string;
}

/** Page size and position of a query. */
export interface PageOptions {
  /** Events per page, 1 to 1000. Default: 50. */
  limit?: number;
  /** `nextCursor` of the previous page. Default: none (the first page). */
  cursor?: string;
}

/** What `AuditStore.stats` counts. */
export interface AuditStats {
  /** Events matching the filter. */
  total: number;
  /** Events by dotted kind ("authz.decision", ...); kinds without events are absent. */
  byType: Record<string, number>;
  /** Events by outcome: "success" or "failure" (`result.success`); an outcome without events is absent. */
  byResult: Record<string, number>;
  /** Authz decisions by outcome ("allowed", "denied", "no_rule", "error"); other kinds are not counted. */
  byDecision: Record<string, number>;
  /**
   * The 10 operations (full method paths) with the most events, most first (ties by name); events
   * without an operation are not counted.
   */
  topOperations: { operation: string; count: number }[];
  /**
   * One entry per hour that has events, oldest first; `hour` is the ISO time the hour starts. A row
   * whose time column holds no time a JavaScript Date holds (edited from outside: beyond ±8.64e15 ms,
   * text, a fraction) is in no hour, so the hours may count fewer events than `total`.
   */
  perHour: { hour: string; count: number }[];
}

/** The filter names of `AuditQuery` (the record's type makes a missing or extra name a compile error). */
const QUERY_NAMES = Object.keys({
  from: 1,
  to: 1,
  type: 1,
  actorId: 1,
  targetType: 1,
  targetId: 1,
  operation: 1,
  service: 1,
  success: 1,
  decision: 1,
  requestId: 1,
  traceId: 1,
  eventId: 1,
} satisfies Record<keyof AuditQuery, 1>);

const PAGE_NAMES = Object.keys({ limit: 1, cursor: 1 } satisfies Record<keyof PageOptions, 1>);

/** Most rows a page holds, of a query or a tail. */
const MAX_PAGE = 1000;

/** An unknown filter name is an input error: it would match every event. */
function rejectUnknown(label: string, given: object, known: readonly string[]): void {
  try {
    rejectUnknownOptions(label, given, known);
  } catch (error) {
    throw new AuditInputError((error as Error).message.replace("unknown option", "unknown name"));
  }
}

function isPageLimit(limit: unknown): limit is number {
  return Number.isInteger(limit) && (limit as number) >= 1 && (limit as number) <= MAX_PAGE;
}

/**
 * Checks a tail's arguments the same way in both stores: a position that is not a whole number ≥ 0
 * read as a lastSeq that ends a follow loop, and a limit below 1 as no limit. @internal
 */
export function checkTail(afterSeq: unknown, limit: unknown): void {
  if (!Number.isSafeInteger(afterSeq) || (afterSeq as number) < 0)
    throw new AuditInputError(
      `audit tail: \`afterSeq\` must be a whole number from 0 to 2^53 - 1, got ${shown(afterSeq)}`,
    );
  if (!isPageLimit(limit))
    throw new AuditInputError(
      `audit tail: \`limit\` must be an integer from 1 to ${MAX_PAGE}, got ${shown(limit)}`,
    );
}

/** Checks that `events` is a list of events (objects with an event id) before a store inserts them. @internal */
export function checkInsert(events: unknown): void {
  if (!Array.isArray(events))
    throw new AuditInputError(
      `audit store insert: \`events\` must be an array of AuditEvents, got ${shown(events)}`,
    );
  for (let i = 0; i < events.length; i++) {
    const event: unknown = events[i];
    if (
      typeof event !== "object" ||
      event === null ||
      typeof (event as { eventId?: unknown }).eventId !== "string"
    )
      throw new AuditInputError(
        `audit store insert: events[${i}] must be an AuditEvent (an object with a string eventId), got ${shown(event)}`,
      );
  }
}

/** A bad argument as a message shows it: strings quoted and cut, objects by their type. */
function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined)
    return String(value);
  return Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value;
}

const DECISIONS = new Set(["allowed", "denied", "no_rule", "error"]);
const STRING_FILTERS = {
  actorId: "actor_id",
  targetType: "target_type",
  targetId: "target_id",
  operation: "operation",
  service: "service",
  requestId: "request_id",
  traceId: "trace_id",
  eventId: "event_id",
} as const;

/** A WHERE clause under construction. @internal */
export interface Where {
  clauses: string[];
  params: (string | number | bigint | Uint8Array)[];
  sql(): string;
}

/** Validates `filter` and turns it into SQL; throws an AuditInputError naming a bad filter. @internal */
export function buildWhere(filter: AuditQuery): Where {
  const fail = (problem: string): never => {
    throw new AuditInputError(`audit query: ${problem}`);
  };
  if (typeof filter !== "object" || filter === null) fail("the filter must be an object");
  rejectUnknown("audit query", filter, QUERY_NAMES);
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  for (const [name, bound] of [
    ["from", ">="],
    ["to", "<"],
  ] as const) {
    const value = filter[name];
    if (value === undefined) continue;
    if (!(value instanceof Date) || !Number.isFinite(value.getTime()))
      fail(`\`${name}\` must be a valid Date`);
    clauses.push(`occurred_at_ms ${bound} ?`);
    params.push((value as Date).getTime());
  }
  if (filter.type !== undefined) {
    if (typeof filter.type !== "string" && !Array.isArray(filter.type))
      fail(`\`type\` must be among ${EVENT_KINDS.join(", ")}, or a list of them`);
    const types = typeof filter.type === "string" ? [filter.type] : [...filter.type];
    const unknown = types.find((t) => !isEventKind(t));
    if (types.length === 0 || unknown !== undefined) fail(`\`type\` must be among ${EVENT_KINDS.join(", ")}`);
    clauses.push(`event_type IN (${types.map(() => "?").join(", ")})`);
    params.push(...types);
  }
  for (const [name, column] of Object.entries(STRING_FILTERS)) {
    const value = filter[name as keyof typeof STRING_FILTERS];
    if (value === undefined) continue;
    if (typeof value !== "string") fail(`\`${name}\` must be a string`);
    clauses.push(`${column} = ?`);
    params.push(value);
  }
  if (filter.success !== undefined) {
    if (typeof filter.success !== "boolean") fail("`success` must be a boolean");
    clauses.push("success = ?");
    params.push(filter.success ? 1 : 0);
  }
  if (filter.decision !== undefined) {
    if (!DECISIONS.has(filter.decision)) fail(`\`decision\` must be among ${[...DECISIONS].join(", ")}`);
    clauses.push("decision = ?");
    params.push(filter.decision);
  }
  return { clauses, params, sql: () => (clauses.length === 0 ? "" : `WHERE ${clauses.join(" AND ")}`) };
}

/** Validates page options; throws an AuditInputError for a bad limit or cursor. @internal */
export function resolvePage(page: PageOptions): {
  limit: number;
  cursor: PagePosition | undefined;
} {
  if (typeof page !== "object" || page === null)
    throw new AuditInputError("audit query: the page options must be an object");
  rejectUnknown("audit query: page", page, PAGE_NAMES);
  const limit = page.limit ?? 50;
  if (!isPageLimit(limit))
    throw new AuditInputError("audit query: `limit` must be an integer from 1 to 1000");
  return { limit, cursor: page.cursor === undefined ? undefined : decodeCursor(page.cursor) };
}

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
  // An id too long for a URL (only a row put in from outside has one) is left out: that page then goes
  // on after every row of its position, as cursors of earlier versions do.
  const afterId =
    id === undefined || id.length > MAX_CURSOR_ID_BYTES ? "" : `:i${Buffer.from(id).toString("hex")}`;
  return Buffer.from(`${time}:${seq}${afterId}`).toString("base64url");
}

/** The longest event id a cursor carries: its hex in base64url stays well under a request line's limits. */
const MAX_CURSOR_ID_BYTES = 1024;

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
  if (id.length === 0 || id.length > MAX_CURSOR_ID_BYTES || id.includes(0)) return false;
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

/**
 * The hours `stats` counts: a row's time column holds a whole number of ms a Date holds (±8.64e15).
 * Another value (edited from outside) would make an hour no Date holds, or count as 1970. @internal
 */
export const IN_DATE_RANGE = "occurred_at_ms BETWEEN -8640000000000000 AND 8640000000000000";

/**
 * The rows after a page's cursor, newest first. A row value: SQLite then searches the time index
 * (whose entries end in the rowid, `seq`) from the cursor, where the equivalent `a < ? OR (a = ? AND
 * b < ?)` scanned it from the newest event down to the cursor on every page. @internal
 */
export const AFTER_CURSOR = "(occurred_at_ms, seq) < (?, ?)";

/**
 * `AFTER_CURSOR` for a cursor on text as stored (`StoredText`), given as bytes: the cast makes them
 * that text again, byte for byte (in the file's encoding), so the row compares as it is stored. @internal
 */
export const AFTER_TEXT_CURSOR = "(occurred_at_ms, seq) < (CAST(? AS TEXT), ?)";

/** One page of events, newest first, and the cursor of the next page (undefined on the last). */
export interface AuditPage {
  /** The page's events, newest first; at most the page's `limit`. */
  events: AuditEvent[];
  /** Opaque cursor to pass as `cursor` for the next page; undefined on the last page. */
  nextCursor: string | undefined;
  /** Rows of this page whose stored event cannot be read; present only when there are some. */
  undecodable?: UndecodableRow[];
}
