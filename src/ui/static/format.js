// How an event reads in the page: its kind, outcome, target and a one-line summary, from the proto3
// JSON the API serves (enum names, RFC 3339 times, defaults left out).

/** Dotted kind name by proto3 JSON event type, filled from /api/info. */
const kindNames = new Map();

/** Learns the kind names the server knows: [{ name: "authz.decision", eventType: "EVENT_TYPE_AUTHZ_DECISION" }]. */
export function learnKinds(kinds) {
  for (const kind of kinds) kindNames.set(kind.eventType, kind.name);
}

/** "authz.decision", or the raw event type for a kind this page does not know. */
export function kindOf(event) {
  return kindNames.get(event.eventType) ?? event.eventType ?? "unspecified";
}

/** "2026-11-20 00:07:00Z": UTC to the second, for tables. */
export function shortTime(iso) {
  return typeof iso === "string" ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

/** "project:p-1", or "" without a target. */
export function targetOf(event) {
  const { type = "", id = "" } = event.target ?? {};
  return type === "" && id === "" ? "" : `${type}:${id}`;
}

/** The last part of the method path: "UpdateProject". */
export function shortOperation(event) {
  return (event.operation ?? "").split("/").pop() ?? "";
}

/**
 * The outcome and whether it is bad: an authz decision by name ("denied"), else "ok" or "FAIL"
 * with the status code.
 */
export function outcomeOf(event) {
  if (event.authz !== undefined) {
    const decision = enumTail(event.authz.decision, "AUTHZ_DECISION_") || "unspecified";
    return { text: decision, bad: decision !== "allowed" };
  }
  const result = event.result ?? {};
  const success = result.success === true;
  return { text: `${success ? "ok" : "FAIL"} ${result.code ?? ""}`.trim(), bad: !success };
}

/** One line on what happened, per kind. */
export function summaryOf(event) {
  if (event.authn !== undefined) {
    const a = event.authn;
    return `${a.method ?? ""} ${a.success ? "accepted" : enumTail(a.failureReason, "AUTHN_FAILURE_REASON_")}`;
  }
  if (event.authz !== undefined) {
    const a = event.authz;
    return `${a.relation ?? ""} on ${a.objectType ?? ""}:${a.objectId ?? ""}`;
  }
  if (event.tupleChange !== undefined) {
    const tuples = event.tupleChange.tuples ?? [];
    return tuples
      .map(
        (t) =>
          `${enumTail(t.operation, "TUPLE_OPERATION_")} ${t.user ?? ""} ${t.relation ?? ""} ${t.object ?? ""}` +
          conditionText(t.condition),
      )
      .join("; ");
  }
  if (event.resourceMutation !== undefined) {
    const m = event.resourceMutation;
    return `${enumTail(m.mutation, "MUTATION_TYPE_")} ${m.resourceType ?? ""}:${m.resourceId ?? ""}`;
  }
  if (event.resourceAccess !== undefined) {
    return `read ${event.resourceAccess.resourceType ?? ""}:${event.resourceAccess.resourceId ?? ""}`;
  }
  if (event.checkpoint !== undefined) {
    return `${event.checkpoint.final ? "final " : ""}checkpoint at seq ${event.checkpoint.headSeq ?? 0}`;
  }
  if (event.recordSummary !== undefined) {
    // Counts are numbers in proto3 JSON here (uint64 within the safe range), absent when 0.
    const { counts = [], overflow = 0 } = event.recordSummary;
    const skipped = counts.reduce((sum, entry) => sum + Number(entry.count ?? 0), Number(overflow));
    return `${skipped} skipped successes over ${counts.length} keys`;
  }
  return "";
}

/**
 * Every field of the event as [path, value] rows, depth first in the JSON's order ("actor.id",
 * "attributes.reason", "tupleChange.tuples.0.user"), for the detail view.
 */
export function fieldRows(value, path = "") {
  if (value === null || typeof value !== "object") return [[path, String(value)]];
  const rows = [];
  for (const [key, child] of Object.entries(value)) {
    rows.push(...fieldRows(child, path === "" ? key : `${path}.${key}`));
  }
  return rows;
}

/**
 * " with condition in_office_hours (context keys: ip, time)" for a conditional tuple, "" for another:
 * without it a conditional grant reads as an unconditional one.
 */
function conditionText(condition) {
  if (condition === undefined) return "";
  const keys = condition.contextKeys ?? [];
  return ` with condition ${condition.name ?? ""}${keys.length > 0 ? ` (context keys: ${keys.join(", ")})` : ""}`;
}

/** "denied" from "AUTHZ_DECISION_DENIED": the enum name without its prefix, lower case. */
function enumTail(name, prefix) {
  if (typeof name !== "string") return "";
  return (name.startsWith(prefix) ? name.slice(prefix.length) : name).toLowerCase();
}
