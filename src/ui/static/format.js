// How an event reads in the page: its kind, outcome, target and a one-line summary, from the proto3
// JSON the API serves (enum names, RFC 3339 times, defaults left out).

/**
 * Page words mixed with stored values, as parts: a string is the page's own text, `{ stored }` a
 * value from the store. The page shows each stored value isolated (`isolated` in dom.js): joined in
 * one run of text, an RTL value would reorder its neighbours ("create פ:12" would read as
 * "create 12:פ"). A template value that is itself parts is spliced in; any other is stored.
 */
export function mixed(strings, ...values) {
  const parts = [];
  strings.forEach((words, i) => {
    if (words !== "") parts.push(words);
    if (i === values.length) return;
    const value = values[i];
    if (Array.isArray(value)) parts.push(...value);
    else parts.push({ stored: String(value) });
  });
  return parts;
}

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

/** "project:p-1" as parts (`mixed`), none without a target. */
export function targetOf(event) {
  const { type = "", id = "" } = event.target ?? {};
  return type === "" && id === "" ? [] : mixed`${type}:${id}`;
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

/** One line on what happened, per kind, as parts (`mixed`). */
export function summaryOf(event) {
  if (event.authn !== undefined) {
    const a = event.authn;
    return a.success
      ? mixed`${a.method ?? ""} accepted`
      : mixed`${a.method ?? ""} ${enumTail(a.failureReason, "AUTHN_FAILURE_REASON_")}`;
  }
  if (event.authz !== undefined) {
    const a = event.authz;
    // The OpenFGA user checked (absent before it was resolved, and in events older than the field).
    const who = a.user ? mixed`${a.user} ` : [];
    return mixed`${who}${a.relation ?? ""} on ${a.objectType ?? ""}:${a.objectId ?? ""}`;
  }
  if (event.tupleChange !== undefined) {
    const tuples = event.tupleChange.tuples ?? [];
    return tuples.flatMap((t, i) => [
      ...(i === 0 ? [] : ["; "]),
      ...mixed`${enumTail(t.operation, "TUPLE_OPERATION_")} ${t.user ?? ""} ${t.relation ?? ""} ${t.object ?? ""}${conditionText(t.condition)}`,
    ]);
  }
  if (event.resourceMutation !== undefined) {
    const m = event.resourceMutation;
    return mixed`${enumTail(m.mutation, "MUTATION_TYPE_")} ${m.resourceType ?? ""}:${m.resourceId ?? ""}`;
  }
  if (event.resourceAccess !== undefined) {
    const { resourceType = "", resourceId = "" } = event.resourceAccess;
    return mixed`read ${resourceType}:${resourceId}`;
  }
  if (event.checkpoint !== undefined) {
    return [`${event.checkpoint.final ? "final " : ""}checkpoint at seq ${event.checkpoint.headSeq ?? 0}`];
  }
  if (event.recordSummary !== undefined) {
    // Counts are numbers in proto3 JSON here (uint64 within the safe range), absent when 0.
    const { counts = [], overflow = 0 } = event.recordSummary;
    const skipped = counts.reduce((sum, entry) => sum + Number(entry.count ?? 0), Number(overflow));
    return [`${skipped} skipped successes over ${counts.length} keys`];
  }
  return [];
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
 * " with condition in_office_hours (context keys: ip, time)" for a conditional tuple, none for another:
 * without it a conditional grant reads as an unconditional one.
 */
function conditionText(condition) {
  if (condition === undefined) return [];
  const keys = (condition.contextKeys ?? []).flatMap((key, i) => [
    ...(i === 0 ? [] : [", "]),
    ...mixed`${key}`,
  ]);
  return mixed` with condition ${condition.name ?? ""}${keys.length > 0 ? mixed` (context keys: ${keys})` : []}`;
}

/** "denied" from "AUTHZ_DECISION_DENIED": the enum name without its prefix, lower case. */
function enumTail(name, prefix) {
  if (typeof name !== "string") return "";
  return (name.startsWith(prefix) ? name.slice(prefix.length) : name).toLowerCase();
}
