import { durationToMs } from "../event/builders.js";
import { eventKind } from "../event/kinds.js";
import { type AuditEvent, AuthzDecision } from "../gen/grpcaudit/v1/event.js";
import { visible } from "./safe-text.js";

/** Columns of the event table, in order. */
export const EVENT_COLUMNS = ["time", "kind", "actor", "operation", "target", "result", "detail"] as const;
type EventColumn = (typeof EVENT_COLUMNS)[number];

/** Column widths `grpc-audit tail` uses, since it prints rows before it has seen them all. */
export const TAIL_WIDTHS: readonly number[] = [24, 17, 10, 13, 14, 27, 0];

/** One line of facts per event, for people: the columns of `formatEventTable`. */
function eventRow(event: AuditEvent): Record<EventColumn, string> {
  const { type = "", id = "" } = event.target ?? {};
  const target = type === "" && id === "" ? "" : `${type}:${id}`;
  const result =
    event.result === undefined ? "" : `${event.result.success ? "ok" : "FAIL"} ${event.result.code}`;
  const duration = event.duration === undefined ? "" : ` ${durationToMs(event.duration).toFixed(1)}ms`;
  return {
    time: event.occurredAt?.toISOString() ?? "",
    kind: eventKind(event.eventType),
    actor: event.actor?.id ?? "",
    operation: event.operation.split("/").pop() ?? "",
    target,
    result: result + duration,
    detail: detailSummary(event) + attributesSummary(event.attributes),
  };
}

/** " {key=value, ...}" for an event with attributes, keys in order; "" without. */
function attributesSummary(attributes: Readonly<Record<string, string>>): string {
  const entries = Object.entries(attributes);
  if (entries.length === 0) return "";
  return ` {${entries.map(([key, value]) => `${key}=${value}`).join(", ")}}`;
}

/**
 * A plain-text table: a header, a rule, then one line per row, each column padded to `widths`.
 * Cells are printed through `visible`, so stored text cannot control the terminal or fake a row.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  widths: readonly number[] = columnWidths(header, rows),
): string {
  return [header, widths.map((w) => "-".repeat(Math.max(w, 1))), ...rows]
    .map((cells) => formatLine(cells, widths))
    .join("\n");
}

/** One table line, each cell made `visible`; the last column is never padded. */
export function formatLine(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => visible(cell).padEnd(widths[i] ?? 0))
    .join("  ")
    .trimEnd();
}

/** The widths that fit every cell of each column. */
export function columnWidths(header: readonly string[], rows: readonly (readonly string[])[]): number[] {
  const widths = header.map((h) => h.length);
  widenColumns(widths, rows);
  return widths;
}

/** Widens `widths` where a cell of `rows` needs more. */
export function widenColumns(widths: number[], rows: readonly (readonly string[])[]): void {
  // A loop, not Math.max(...rows): a spread of ~120,000 rows overflows the call stack.
  for (const row of rows) {
    for (let i = 0; i < widths.length; i++)
      widths[i] = Math.max(widths[i] ?? 0, visible(row[i] ?? "").length);
  }
}

/** A plain-text table of events, one row each, columns padded to fit. */
export function formatEventTable(events: readonly AuditEvent[]): string {
  return formatTable(EVENT_COLUMNS, events.map(eventCells));
}

/** The cells of one event, in `EVENT_COLUMNS` order. */
export function eventCells(event: AuditEvent): string[] {
  const row = eventRow(event);
  return EVENT_COLUMNS.map((c) => row[c]);
}

function detailSummary(event: AuditEvent): string {
  const detail = event.detail;
  switch (detail?.$case) {
    case "authn":
      return `${detail.value.method} ${detail.value.success ? "accepted" : short(detail.value.failureReason)}`;
    case "authz": {
      const { relation, objectType, objectId, decision, errorReason, cacheHit, user } = detail.value;
      const why = errorReason === "" ? "" : ` (${errorReason})`;
      if (decision === AuthzDecision.AUTHZ_DECISION_NO_RULE) {
        return `no authz rule -> ${event.result?.success === true ? "let through" : "refused"}`;
      }
      // The OpenFGA user checked, as a tuple change names it; none before it was resolved.
      const who = user === "" ? "" : `${user} `;
      return `${who}${relation} on ${objectType}:${objectId} -> ${short(decision)}${why}${cacheHit ? " [cache]" : ""}`;
    }
    case "tupleChange":
      return detail.value.tuples
        .map((t) => `${short(t.operation)} ${t.user} ${t.relation} ${t.object}${t.success ? "" : " FAILED"}`)
        .join("; ");
    case "resourceMutation":
      return `${short(detail.value.mutation)} ${detail.value.resourceType}:${detail.value.resourceId}`;
    case "resourceAccess":
      return `read ${detail.value.resourceType}:${detail.value.resourceId}`;
    case "checkpoint": {
      const { headSeq, headHash, keyId, final } = detail.value;
      // 12 hex digits name the head well enough for people; `verify` checks all of it.
      return `${final ? "final " : ""}checkpoint of seq ${headSeq} (${headHash.slice(0, 12)}), key ${keyId}`;
    }
    case "recordSummary": {
      const { counts, overflow } = detail.value;
      const skipped = counts.reduce((sum, entry) => sum + entry.count, overflow);
      const keys = `${counts.length} key${counts.length === 1 ? "" : "s"}`;
      return `${skipped} skipped successes (${keys}${overflow > 0 ? `, ${overflow} beyond them` : ""})`;
    }
    default:
      return "";
  }
}

/** "AUTHZ_DECISION_DENIED" -> "denied". */
function short(enumName: string): string {
  const parts = enumName.split("_");
  const known = ["AUTHN_FAILURE_REASON", "AUTHZ_DECISION", "TUPLE_OPERATION", "MUTATION_TYPE"];
  const prefix = known.find((p) => enumName.startsWith(`${p}_`));
  return (prefix === undefined ? parts.join("_") : enumName.slice(prefix.length + 1)).toLowerCase();
}
