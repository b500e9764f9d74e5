import type { AuthzOutcome } from "../event/builders.js";
import { EVENT_KINDS, type EventKind, isEventKind } from "../event/kinds.js";
import { decodeCursor } from "../store/page-cursor.js";
import type { AuditQuery, PageOptions } from "../store/query.js";
import { UiHttpError } from "./http-error.js";

/** Each filter parameter of the API and the store filter it sets; names as the CLI's flags. */
const STRING_PARAMS = {
  actor: "actorId",
  "target-type": "targetType",
  "target-id": "targetId",
  operation: "operation",
  service: "service",
  "request-id": "requestId",
  "trace-id": "traceId",
} as const;
/** The authz outcomes the `decision` filter takes. */
export const DECISIONS: readonly AuthzOutcome[] = ["allowed", "denied", "no_rule", "error"];
/** The filter parameters every API endpoint that filters takes. */
export const FILTER_PARAMS: readonly string[] = [
  "from",
  "to",
  "type",
  "result",
  "decision",
  ...Object.keys(STRING_PARAMS),
];
/** The page parameters of /api/events. */
export const PAGE_PARAMS: readonly string[] = ["limit", "cursor"];
/** An ISO 8601 time in UTC, to the millisecond at most: what the page sends (`Date.toISOString`). */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?Z$/;

/**
 * Reads the query string of an API request: each parameter at most once, no unknown ones, each value
 * checked. Throws a UiHttpError (400) that names the parameter and the form it takes. No length cap: a
 * stored actor, target or request id may be of any length, and the page links to its events (Node's
 * limit on the request line bounds every value).
 */
export function readParams(search: URLSearchParams, allowed: readonly string[]): Map<string, string> {
  const params = new Map<string, string>();
  for (const [name, value] of search) {
    if (!allowed.includes(name)) {
      const known = allowed.length === 0 ? "this endpoint takes none" : `use ${allowed.join(", ")}`;
      throw badRequest(`unknown parameter \`${name}\`: ${known}`);
    }
    if (params.has(name)) throw badRequest(`parameter \`${name}\` is given twice`);
    if (value === "") throw badRequest(`parameter \`${name}\` is empty: leave it out to match every value`);
    params.set(name, value);
  }
  return params;
}

/** The `id` of /api/event, its only parameter: any string a store holds is an id, also the empty one. */
export function eventIdParam(search: URLSearchParams): string {
  const other = [...search.keys()].find((name) => name !== "id");
  if (other !== undefined) throw badRequest(`unknown parameter \`${other}\`: use id`);
  const [id, twice] = search.getAll("id");
  if (id === undefined) throw badRequest("parameter `id` is missing: the event's id");
  if (twice !== undefined) throw badRequest("parameter `id` is given twice");
  return id;
}

/** The store filter the parameters ask for. */
export function filterFromParams(params: ReadonlyMap<string, string>): AuditQuery {
  const filter: AuditQuery = {};
  const from = params.get("from");
  const to = params.get("to");
  if (from !== undefined) filter.from = timeParam("from", from);
  if (to !== undefined) filter.to = timeParam("to", to);
  if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) {
    throw badRequest("`from` must be before `to`");
  }
  const type = params.get("type");
  if (type !== undefined) filter.type = kindsParam(type);
  for (const [param, key] of Object.entries(STRING_PARAMS)) {
    const value = params.get(param);
    if (value !== undefined) filter[key] = value;
  }
  if (filter.traceId !== undefined && !/^[0-9a-f]{32}$/.test(filter.traceId)) {
    throw badRequest("`trace-id` must be 32 lowercase hex digits, as in a traceparent header");
  }
  const result = params.get("result");
  if (result !== undefined) {
    if (result !== "success" && result !== "failure") throw badRequest("`result` must be success or failure");
    filter.success = result === "success";
  }
  const decision = params.get("decision");
  if (decision !== undefined) {
    const outcome = DECISIONS.find((d) => d === decision);
    if (outcome === undefined) throw badRequest(`\`decision\` must be one of ${DECISIONS.join(", ")}`);
    filter.decision = outcome;
  }
  return filter;
}

/** Page size (default 50, 1 to 1000) and cursor of /api/events. */
export function pageFromParams(params: ReadonlyMap<string, string>): PageOptions {
  const page: PageOptions = { limit: 50 };
  const limit = params.get("limit");
  if (limit !== undefined) {
    page.limit = /^\d{1,4}$/.test(limit) ? Number(limit) : 0;
    if (page.limit < 1 || page.limit > 1000) throw badRequest("`limit` must be an integer from 1 to 1000");
  }
  const cursor = params.get("cursor");
  if (cursor !== undefined) {
    try {
      decodeCursor(cursor);
    } catch {
      throw badRequest("`cursor` is not one this viewer gave out: use the nextCursor of a page");
    }
    page.cursor = cursor;
  }
  return page;
}

/** A time parameter: an ISO time in UTC that exists (2026-02-30 is refused, not rolled into March). */
function timeParam(name: string, value: string): Date {
  const time = new Date(value);
  const valid =
    ISO_UTC.test(value) &&
    Number.isFinite(time.getTime()) &&
    time.toISOString().startsWith(value.slice(0, -1)); // every part as written: none rolled over
  if (!valid) throw badRequest(`\`${name}\` must be an ISO time in UTC, such as 2026-11-23T10:00:00Z`);
  return time;
}

function kindsParam(value: string): EventKind[] {
  const kinds = value.split(",");
  const known = kinds.filter(isEventKind);
  if (known.length !== kinds.length) {
    throw badRequest(`\`type\` must be one or more of ${EVENT_KINDS.join(", ")}, separated by commas`);
  }
  return known;
}

function badRequest(message: string): UiHttpError {
  return new UiHttpError(400, message);
}
