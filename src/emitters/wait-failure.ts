import { plural } from "../errors/plural.js";
import { eventKind } from "../event/kinds.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/** How many of the last events a failed wait lists. */
const LISTED = 10;
/** Longest match a failed wait shows, in characters. */
const MATCH_CHARS = 200;
/** Longest field value an event's line shows, in characters. */
const VALUE_CHARS = 60;
/** How deep into a match it is shown (a match is a few levels; this only bounds a cyclic one). */
const MATCH_DEPTH = 8;

/**
 * What a memory emitter's `waitFor` waited for, as its failure says it: "no event matching" and the
 * match as JSON (an `undefined` field shown, as it asks for the field to be absent), cut at 200
 * characters; or "no event matching the predicate".
 * @internal
 */
export function noEventMatching(match: unknown): string {
  if (typeof match === "function") return "no event matching the predicate";
  const text = shownMatch(match, 0);
  return `no event matching ${text.length > MATCH_CHARS ? `${text.slice(0, MATCH_CHARS)}…` : text}`;
}

/**
 * What a failed wait received: "received none", or how many events and one line for each of the last
 * 10 (kind, operation, actor id, target, result code, authz decision), so a test's failure shows
 * which field differs.
 * @internal
 */
export function received(events: readonly AuditEvent[]): string {
  if (events.length === 0) return "received none";
  const heading =
    events.length > LISTED
      ? `the last ${LISTED} of ${events.length} events received`
      : `received ${plural(events.length, "event")}`;
  return `${heading}:${events
    .slice(-LISTED)
    .map((event) => `\n  ${eventLine(event)}`)
    .join("")}`;
}

function eventLine(event: AuditEvent): string {
  const { actor, target, result, detail } = event;
  const parts: string[] = [eventKind(event.eventType), short(event.operation)];
  if (actor?.id) parts.push(`actor=${short(actor.id)}`);
  if (target?.type || target?.id) parts.push(`target=${short(target.type)}/${short(target.id)}`);
  if (result?.code) parts.push(`result=${short(result.code)}`);
  if (detail?.$case === "authz") parts.push(`decision=${detail.value.decision}`);
  return parts.filter((part) => part !== "").join(" ");
}

function short(text: string): string {
  return text.length > VALUE_CHARS ? `${text.slice(0, VALUE_CHARS)}…` : text;
}

/** JSON, but with `undefined` where a field is given as undefined, and functions by name, not source. */
function shownMatch(value: unknown, depth: number): string {
  if (value === undefined) return "undefined";
  if (typeof value === "function") return value.name === "" ? "function" : `function ${value.name}`;
  if (typeof value !== "object" || value === null || value instanceof Date) {
    return typeof value === "bigint" ? String(value) : (JSON.stringify(value) ?? String(value));
  }
  if (depth >= MATCH_DEPTH) return "…";
  if (Array.isArray(value)) return `[${value.map((item) => shownMatch(item, depth + 1)).join(",")}]`;
  const fields = Object.entries(value).map(
    ([key, item]) => `${JSON.stringify(key)}:${shownMatch(item, depth + 1)}`,
  );
  return `{${fields.join(",")}}`;
}
