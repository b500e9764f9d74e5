import { durationToMs } from "../event/builders.js";
import { eventKind } from "../event/kinds.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";

const COLUMNS = ["time", "kind", "actor", "operation", "target", "result", "detail"] as const;

/** One line of facts per event, for people: the columns of `formatEventTable`. */
export function eventRow(event: AuditEvent): Record<(typeof COLUMNS)[number], string> {
  const target = event.target === undefined ? "" : `${event.target.type}:${event.target.id}`;
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
    detail: detailSummary(event),
  };
}

/** A plain-text table of events, one row each, columns padded to fit. */
export function formatEventTable(events: readonly AuditEvent[]): string {
  const rows = events.map(eventRow);
  const widths = COLUMNS.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [
    line(COLUMNS),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map((r) => line(COLUMNS.map((c) => r[c]))),
  ].join("\n");
}

function detailSummary(event: AuditEvent): string {
  const detail = event.detail;
  switch (detail?.$case) {
    case "authn":
      return `${detail.value.method} ${detail.value.success ? "accepted" : short(detail.value.failureReason)}`;
    case "authz": {
      const { relation, objectType, objectId, decision, errorReason, cacheHit } = detail.value;
      const why = errorReason === "" ? "" : ` (${errorReason})`;
      return `${relation} on ${objectType}:${objectId} -> ${short(decision)}${why}${cacheHit ? " [cache]" : ""}`;
    }
    case "tupleChange":
      return detail.value.tuples
        .map((t) => `${short(t.operation)} ${t.user} ${t.relation} ${t.object}${t.success ? "" : " FAILED"}`)
        .join("; ");
    case "resourceMutation":
      return `${short(detail.value.mutation)} ${detail.value.resourceType}:${detail.value.resourceId}`;
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
