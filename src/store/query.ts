import { AuditInputError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { AuthzOutcome } from "../event/builders.js";
import { EVENT_KINDS, type EventKind, isEventKind } from "../event/kinds.js";
import { isEventTime } from "../event/time.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { decodeCursor, type PagePosition } from "./page-cursor.js";
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

/**
 * Checks that `events` is a list of events (objects with an event id) before a store inserts them,
 * and that an event's `occurredAt` and a record summary's `since`, when a Date, is a valid one from
 * 0001-01-01 to 9999-12-31 (UTC), as the Recorder makes them (`isEventTime`): a store would give a
 * later time back as "+020000-01-01T00:00:00.000Z", which is no RFC 3339 time. @internal
 */
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
    const { occurredAt, detail } = event as { occurredAt?: unknown; detail?: AuditEvent["detail"] };
    checkTime(occurredAt, `events[${i}].occurredAt`);
    if (detail?.$case === "recordSummary") checkTime(detail.value?.since, `events[${i}].detail.value.since`);
  }
}

function checkTime(time: unknown, path: string): void {
  if (time instanceof Date && !isEventTime(time.getTime()))
    throw new AuditInputError(
      `audit store insert: ${path} must be a valid Date from 0001-01-01 to 9999-12-31 (UTC), got ${shownTime(time)}`,
    );
}

/** A Date as an error message shows it: its ISO text, whatever its year. */
function shownTime(date: Date): string {
  return Number.isNaN(date.getTime()) ? "an invalid Date" : date.toISOString();
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
