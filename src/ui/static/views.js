// The page's views, built from API answers: the event table's rows, one event's detail, one request
// followed across its events, and the chains' verification status.

import { el, isolated, jsonNode, stored, storedText, viewHref } from "./dom.js";
import {
  fieldRows,
  kindOf,
  mixed,
  outcomeOf,
  shortOperation,
  shortTime,
  summaryOf,
  targetOf,
} from "./format.js";

/** One row of the event table; the whole row opens the event. */
export function eventRow(event) {
  const outcome = outcomeOf(event);
  const open = () => {
    location.hash = viewHref("event", event.eventId ?? "");
  };
  return el(
    "tr",
    { class: "event-row", "data-event-id": event.eventId, onclick: open },
    el(
      "td",
      {},
      el("a", { href: viewHref("event", event.eventId ?? ""), text: shortTime(event.occurredAt) }),
    ),
    el("td", { text: kindOf(event) }),
    el("td", { class: "actor" }, stored(event.actor?.id ?? "")),
    el(
      "td",
      { title: event.operation === undefined ? undefined : storedText(event.operation) },
      stored(shortOperation(event)),
    ),
    el("td", { class: "target" }, ...isolated(targetOf(event))),
    el("td", { class: outcome.bad ? "bad" : "good", text: outcome.text }),
    el("td", { class: "request" }, stored(event.requestId ?? "")),
  );
}

/**
 * A page of /api/events as a list, newest first, with its unreadable rows in their places (`index`:
 * how many of the page's events come before one); `item` and `unreadable` make each entry.
 */
export function inStoreOrder(page, item, unreadable) {
  const items = page.events.map((event) => item(event));
  for (const row of [...page.undecodable].reverse()) items.splice(row.index, 0, unreadable(row));
  return items;
}

/** The row in place of a stored event that cannot be read. */
export function undecodableRow(row) {
  return el(
    "tr",
    { class: "undecodable" },
    el("td", { text: shortTime(row.occurredAt) }),
    el("td", { colspan: 6 }, ...isolated(unreadableText(row))),
  );
}

/** One event: a summary, links to its request and actor, then every field. */
export function eventDetail(event, backHref) {
  const outcome = outcomeOf(event);
  const links = [];
  if (event.requestId)
    links.push(el("a", { href: viewHref("request", event.requestId), text: "Follow this request" }));
  if (event.actor?.id)
    links.push(
      el("a", { href: `#/?${new URLSearchParams({ actor: event.actor.id })}`, text: "Events of this actor" }),
    );
  if (event.target?.type && event.target?.id) {
    const params = new URLSearchParams({ "target-type": event.target.type, "target-id": event.target.id });
    links.push(el("a", { href: `#/?${params}`, text: "Events of this target" }));
  }
  return [
    el("p", {}, el("a", { href: backHref, text: "← Back to the events" })),
    el(
      "h2",
      {},
      `${kindOf(event)} `,
      el("span", { class: outcome.bad ? "bad" : "good", text: outcome.text }),
    ),
    el("p", { class: "summary" }, ...isolated(summaryOf(event))),
    el("nav", { class: "links" }, ...links),
    fieldTable(event),
    el("details", {}, el("summary", { text: "JSON" }), el("pre", {}, jsonNode(event))),
  ];
}

/**
 * The events of one request, oldest first, as numbered steps; `items` are events and `{ unreadable }`
 * rows, newest first (inStoreOrder); `truncated` when they are only the newest of them.
 */
export function requestSteps(requestId, items, backHref, truncated = false) {
  const ordered = [...items].reverse(); // the API lists newest first
  const first = ordered[0];
  const last = ordered[ordered.length - 1];
  const timeOf = (item) => shortTime((item.unreadable ?? item).occurredAt);
  const unreadable = ordered.filter((item) => item.unreadable !== undefined).length;
  const facts =
    first === undefined
      ? "No events carry this request id."
      : `${ordered.length} event${ordered.length === 1 ? "" : "s"} from ${timeOf(first)} to ${timeOf(last)}` +
        (unreadable > 0 ? `, ${unreadable} of them unreadable` : "") +
        (truncated ? " (the newest; older events of this request are not shown)" : "");
  const steps = ordered.map((event) => {
    if (event.unreadable !== undefined) return unreadableStep(event.unreadable); // not an event: a row
    const outcome = outcomeOf(event);
    return el(
      "li",
      { class: "step", "data-event-id": event.eventId },
      el("a", { href: viewHref("event", event.eventId ?? ""), text: shortTime(event.occurredAt) }),
      " ",
      el("strong", { text: kindOf(event) }),
      " ",
      el("span", { class: outcome.bad ? "bad" : "good", text: outcome.text }),
      el(
        "div",
        { class: "muted" },
        ...isolated(
          mixed`${event.actor?.id ?? "anonymous"} · ${event.operation ?? ""} · ${summaryOf(event)}`,
        ),
      ),
    );
  });
  return [
    el("p", {}, el("a", { href: backHref, text: "← Back to the events" })),
    el("h2", {}, "Request ", el("code", {}, stored(requestId))),
    el("p", { class: "muted", text: facts }),
    el("ol", { class: "steps" }, ...steps),
  ];
}

/** A step that is a stored event of the request that cannot be read: where it is, never its bytes. */
function unreadableStep(row) {
  return el(
    "li",
    { class: "step unreadable", "data-event-id": row.eventId },
    `${shortTime(row.occurredAt)} `,
    el("span", { class: "bad" }, ...isolated(unreadableText(row))),
  );
}

/** "unreadable stored event <id> (row 12): <reason>", the stored id isolated. */
function unreadableText(row) {
  return [...mixed`unreadable stored event ${row.eventId}`, ` (row ${row.seq}): ${row.reason}`];
}

/** "1 checkpoint", "2 checkpoints". */
function counted(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** The chain status line (parts, see `mixed`) and its details, from /api/verify. */
export function chainStatus(report) {
  const chains = counted(report.chains.length, "chain");
  const notes = [
    report.unchained > 0 && !report.findings.some((f) => f.kind === "unchained")
      ? `${counted(report.unchained, "event")} without a chain`
      : "",
    ...report.unusedKeys.map((keyId) => mixed`key ${keyId} signed no checkpoint of the trail`),
  ].filter((note) => note !== "");
  const noted = notes.flatMap((note) => ["; ", ...(typeof note === "string" ? [note] : note)]);
  const findings =
    report.chains.reduce((sum, c) => sum + c.findingCount, 0) +
    report.findings.length +
    report.unreadableCount;
  let summary;
  let state;
  if (!report.ok) {
    summary = [`Chains NOT verified: ${findings} finding${findings === 1 ? "" : "s"}, worst ${report.worst}`];
    state = "bad";
  } else if (report.chains.length === 0) {
    summary = ["Nothing verified: the store holds no chained event"];
    state = "none";
  } else {
    summary = [`Chains verified: ${chains}, ${counted(report.events, "event")}, no findings`];
    state = "ok";
  }
  summary.push(...noted);
  const details = report.chains.map((chain) => {
    // The instance (absent when its Recorder had none) tells apart the chains of a service's servers.
    const recordedBy =
      chain.instance === undefined ? mixed`${chain.service}` : mixed`${chain.service} on ${chain.instance}`;
    return el(
      "div",
      { class: "chain-report" },
      el(
        "p",
        {},
        ...isolated([
          ...mixed`chain ${chain.chainId} (${recordedBy})`,
          `: ${counted(chain.events, "event")}, seq ${chain.firstSeq}-${chain.lastSeq}, ` +
            `${counted(chain.checkpoints, "checkpoint")} (${chain.verifiedCheckpoints} verified), ${chain.sealed ? "sealed" : `${chain.unsealed} after the last checkpoint`}`,
        ]),
      ),
      chain.pruned === undefined ? null : el("p", { class: "note" }, ...isolated(prunedNote(chain.pruned))),
      el(
        "ul",
        {},
        ...chain.findings.map((f) =>
          el("li", { class: "bad", text: `${f.kind} at seq ${f.seq}: ${f.detail}` }),
        ),
        more("li", chain.findingCount - chain.findings.length, "finding", " in this chain"),
      ),
    );
  });
  // The trail's own findings (empty, unchained: with --sealed) come first: no chain holds them.
  const trail = report.findings.map((f) =>
    el(
      "p",
      { class: "bad" },
      ...isolated([`${f.kind}: `, ...(f.eventId === "" ? [] : mixed`first event ${f.eventId}: `), f.detail]),
    ),
  );
  const unreadable = report.unreadable.map((u) =>
    el("p", { class: "bad", text: `modified ${u.where}: ${u.reason}` }),
  );
  const unlisted = more("p", report.unreadableCount - report.unreadable.length, "unreadable row");
  return { summary, state, details: [...trail, ...details, ...unreadable, unlisted] };
}

/**
 * The prefix `grpc-audit prune` deleted, vouched for by the signed checkpoint the chain starts at, as
 * `grpc-audit verify` words it: a note, not a finding.
 */
function prunedNote({ toSeq, anchorSeq, keyId }) {
  const seqs = toSeq === 1 ? "seq 1" : `seqs 1-${toSeq}`;
  return [
    `pruned ${seqs}: anchored by the checkpoint at seq ${anchorSeq}, signed by key `,
    ...mixed`${keyId} (not a finding)`,
  ];
}

/** "12 more findings in this chain": what the API counted but did not list (it lists the first), or null. */
function more(tag, count, noun, where = "") {
  if (count === 0) return null;
  return el(tag, { class: "more", text: `${count} more ${noun}${count === 1 ? "" : "s"}${where}` });
}

function fieldTable(event) {
  return el(
    "table",
    { class: "fields" },
    el(
      "tbody",
      {},
      ...fieldRows(event).map(([path, value]) =>
        el("tr", {}, el("th", { text: path }), el("td", {}, stored(value))),
      ),
    ),
  );
}
