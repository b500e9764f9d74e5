import type { AuditStats } from "../store/query.js";
import { formatTable } from "./format.js";

/**
 * `AuditStats` for people: the total, then one small table per breakdown (by type, result, authz
 * decision, top operations, per hour). No events: the total alone, not five empty tables.
 */
export function formatStats(stats: AuditStats): string {
  if (stats.total === 0) return "total events: 0";
  const counts = (title: string, entries: readonly (readonly [string, number])[]) =>
    formatTable(
      [title, "count"],
      entries.map(([name, n]) => [name, String(n)]),
    );
  const sections = [
    `total events: ${stats.total}`,
    counts("type", Object.entries(stats.byType)),
    counts("result", Object.entries(stats.byResult)),
    counts("authz decision", Object.entries(stats.byDecision)),
    counts(
      "top operations",
      stats.topOperations.map((o) => [o.operation, o.count]),
    ),
    counts(
      "hour (UTC)",
      stats.perHour.map((h) => [hourLabel(h.hour), h.count]),
    ),
  ];
  return sections.join("\n\n");
}

/** "2026-11-20 03:00", the hour that starts at the ISO time `hour`. */
function hourLabel(hour: string): string {
  // Up to the "T", not a fixed length: a year outside 0000–9999 has a sign and six digits.
  return `${hour.slice(0, hour.indexOf("T") + 3).replace("T", " ")}:00`;
}
