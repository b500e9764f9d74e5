// The viewer's page: reads the hash (#/?filters, #/event/<id>, #/request/<id>), asks the API and
// shows one view. The filters live in the hash, so a filtered view can be bookmarked or shared.

import { getJson } from "./api.js";
import { timelineChart } from "./chart.js";
import { byId, el, isolated, replaceChildren, shown } from "./dom.js";
import { learnKinds, mixed } from "./format.js";
import { chainStatus, eventDetail, eventRow, inStoreOrder, requestSteps, undecodableRow } from "./views.js";

const VIEWS = ["list-view", "event-view", "request-view"];
const TIME_FIELDS = ["from", "to"];
/** The hash of the last list shown, for the "back" links of the other views. */
let listHash = "#/";
/** The query of the list shown and its next page's cursor. */
let listQuery = new URLSearchParams();
let nextCursor = null;
/** The cursor of the page "Load more" is fetching, so a second click does not fetch it again. */
let loadingCursor = null;
/** Increases with each view shown, so an answer for a view already left is dropped. */
let generation = 0;

async function start() {
  const info = await getJson("/api/info");
  byId("store").textContent = shown(info.store);
  learnKinds(info.kinds);
  const form = byId("filters");
  byId("types").append(
    ...info.kinds.map((k) =>
      el("label", {}, el("input", { type: "checkbox", name: "type", value: k.name }), k.name),
    ),
  );
  form.elements.decision.append(...info.decisions.map((d) => el("option", { value: d, text: d })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/?${paramsFromForm(form)}`;
  });
  byId("clear").addEventListener("click", () => {
    location.hash = "#/";
  });
  byId("more").addEventListener("click", () => run(loadMore));
  window.addEventListener("hashchange", () => run(route));
  run(showChains);
  await run(route);
}

/**
 * Runs a step of the page; its error is shown in the error banner instead of thrown, unless the view
 * it was for has been left meanwhile (the banner belongs to the view shown).
 */
async function run(step) {
  const running = step();
  // Read after the call: route() starts its view's generation before its first await.
  const mine = generation;
  try {
    await running;
  } catch (error) {
    if (mine === generation) showError(error instanceof Error ? error.message : String(error));
  }
}

async function route() {
  showError("");
  const [path, query = ""] = location.hash.replace(/^#/, "").split(/\?(.*)/s);
  const mine = ++generation;
  // One percent-encoded segment (viewHref), which may be empty: a store can hold an empty event id.
  const eventId = /^\/event\/([^/]*)$/.exec(path)?.[1];
  if (eventId !== undefined) return showEvent(decodeSegment(eventId, "event"), mine);
  const requestId = /^\/request\/([^/]+)$/.exec(path)?.[1];
  if (requestId !== undefined) return showRequest(decodeSegment(requestId, "request"), mine);
  return showList(new URLSearchParams(query), mine);
}

/** An id from the address; a hand-typed one may not decode, and "URI malformed" would not say why. */
function decodeSegment(segment, what) {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new Error(`The ${what} id in the address is not valid percent-encoding: ${segment}`);
  }
}

async function showList(query, mine) {
  listHash = location.hash || "#/";
  listQuery = query;
  fillForm(byId("filters"), query);
  show("list-view");
  byId("list-status").textContent = "Loading…";
  // The previous list's cursor is no use to this one: no "Load more" until its first page is shown.
  nextCursor = null;
  byId("more").hidden = true;
  // Nor its rows, totals or timeline: a list refused or failed must not leave them under these filters.
  replaceChildren(byId("events").tBodies[0]);
  byId("totals").textContent = "";
  replaceChildren(byId("chart"));
  const [page, stats] = await Promise.all([
    getJson("/api/events", query),
    getJson("/api/stats", withoutPaging(query)),
  ]).catch((error) => {
    // The banner says why (run); the status must not go on saying "Loading…".
    if (mine === generation)
      byId("list-status").textContent = "No events shown: the list could not be loaded.";
    throw error;
  });
  if (mine !== generation) return;
  const deniedTotal = stats.timeline.buckets.reduce((sum, b) => sum + b.denied, 0);
  byId("totals").textContent = `${stats.total} events, ${deniedTotal} denied`;
  const chart = timelineChart(stats, (from, to) => {
    // A new view starts at the newest event of its stretch, not at the old view's cursor.
    const next = new URLSearchParams(listQuery);
    next.delete("cursor");
    next.set("from", from.toISOString());
    next.set("to", to.toISOString());
    location.hash = `#/?${next}`;
  });
  replaceChildren(
    byId("chart"),
    chart ?? el("p", { class: "muted", text: "No events match these filters." }),
  );
  appendPage(page);
}

async function loadMore() {
  const cursor = nextCursor;
  // A double click, or a click while this page is coming: it is fetched, and appended, once.
  if (cursor === null || cursor === loadingCursor) return;
  const query = new URLSearchParams(listQuery);
  query.set("cursor", cursor);
  const mine = generation;
  loadingCursor = cursor;
  try {
    const page = await getJson("/api/events", query);
    // Appended only to the list it continues: still shown, and not already continued.
    if (mine === generation && cursor === nextCursor) {
      appendPage(page);
      showError(""); // a failed try of this page put the banner up
    }
  } finally {
    if (loadingCursor === cursor) loadingCursor = null;
  }
}

function appendPage(page) {
  const body = byId("events").tBodies[0];
  body.append(...inStoreOrder(page, eventRow, undecodableRow));
  nextCursor = page.nextCursor;
  byId("more").hidden = nextCursor === null;
  const shown = body.rows.length;
  byId("list-status").textContent =
    `${shown} event${shown === 1 ? "" : "s"} shown${nextCursor === null ? "" : "; more below"}`;
}

async function showEvent(eventId, mine) {
  // A query parameter, not a path segment: URL normalisation removes an id `.` or `..` from a path.
  const answer = await getJson("/api/event", new URLSearchParams({ id: eventId }));
  if (mine !== generation) return;
  const view = byId("event-view");
  if (answer.undecodable !== undefined) {
    const u = answer.undecodable;
    replaceChildren(
      view,
      el(
        "p",
        { class: "bad" },
        ...isolated([...mixed`Stored event ${u.eventId}`, ` (row ${u.seq}) cannot be read: ${u.reason}`]),
      ),
    );
  } else replaceChildren(view, ...eventDetail(answer.event, listHash));
  show("event-view");
}

/** Most events "Follow this request" reads: the newest ones beyond are left out, and it says so. */
const MAX_REQUEST_EVENTS = 20_000;

async function showRequest(requestId, mine) {
  // Every event of the request, page after page (a stream can record more than a page holds), and
  // its rows that cannot be read: a step of the trail is never left out silently.
  const items = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ "request-id": requestId, limit: "1000" });
    if (cursor !== null) query.set("cursor", cursor);
    const page = await getJson("/api/events", query);
    if (mine !== generation) return;
    items.push(
      ...inStoreOrder(
        page,
        (event) => event,
        (row) => ({ unreadable: row }),
      ),
    );
    cursor = page.nextCursor;
  } while (cursor !== null && items.length < MAX_REQUEST_EVENTS);
  replaceChildren(byId("request-view"), ...requestSteps(requestId, items, listHash, cursor !== null));
  show("request-view");
}

async function showChains() {
  const details = byId("chain");
  try {
    const status = chainStatus(await getJson("/api/verify"));
    replaceChildren(byId("chain-summary"), ...isolated(status.summary));
    details.className = `chain ${status.state}`;
    replaceChildren(byId("chain-details"), ...status.details);
  } catch (error) {
    byId("chain-summary").textContent = shown(
      `Chains not verified: ${error instanceof Error ? error.message : error}`,
    );
    details.className = "chain bad";
  }
}

function show(id) {
  for (const view of VIEWS) byId(view).hidden = view !== id;
}

function showError(message) {
  const banner = byId("error");
  banner.textContent = shown(message);
  banner.hidden = message === "";
}

/** The query without `limit` and `cursor`: the filters alone, which is all /api/stats takes. */
function withoutPaging(query) {
  const filters = new URLSearchParams(query);
  filters.delete("limit");
  filters.delete("cursor");
  return filters;
}

/**
 * The form's filters as API parameters: the checked types as one comma-separated `type`, the list's
 * page size kept (a new filter starts at the newest event, so no cursor).
 */
function paramsFromForm(form) {
  const params = new URLSearchParams();
  for (const input of form.elements) {
    if (input.name === "" || (input.type === "checkbox" && !input.checked)) continue;
    const value = filterValue(input);
    if (value === "") continue;
    const before = params.get(input.name);
    params.set(input.name, before === null ? value : `${before},${value}`);
  }
  const limit = listQuery.get("limit");
  if (limit !== null) params.set("limit", limit);
  return params;
}

/**
 * One field's filter: a time (typed in UTC) as an ISO time; a text field still showing the value the
 * address gave it, that value exactly (spaces are part of an id); a typed one without stray spaces.
 */
function filterValue(input) {
  if (TIME_FIELDS.includes(input.name)) return input.value === "" ? "" : `${input.value}Z`;
  if (input.type !== "text") return input.value;
  return input.readOnly || input.value === input.defaultValue ? input.defaultValue : input.value.trim();
}

/** Shows the list's filters in the form, each exactly as the list is filtered. */
function fillForm(form, query) {
  const types = (query.get("type") ?? "").split(",");
  for (const input of form.elements) {
    if (input.name === "") continue;
    const value = query.get(input.name) ?? "";
    if (input.type === "checkbox") input.checked = types.includes(input.value);
    else if (TIME_FIELDS.includes(input.name)) fillTime(input, value);
    else if (input.type === "text") fillText(input, value);
    else input.value = value;
  }
}

/** A time without its zone (the inputs are in UTC), milliseconds included: a 1 s step would drop them. */
function fillTime(input, value) {
  const local = value.replace(/Z$/, "");
  input.step = /\.\d*[1-9]/.test(local) ? "0.001" : "1";
  input.value = local;
}

/**
 * A text filter, its exact value kept in `defaultValue`. A text input drops line breaks from what it
 * is given and shows invisible characters as nothing, so a value with some shows them as ␍ ␊ and
 * ⟨U+200B⟩ in a field that cannot be edited (Clear empties it): it is applied as it is, never as the
 * characters the field shows or kept.
 */
function fillText(input, value) {
  const marked = shown(value.replaceAll("\r", "␍").replaceAll("\n", "␊"));
  const kept = marked !== value;
  input.defaultValue = value;
  input.value = marked;
  input.readOnly = kept;
  input.title = kept
    ? "Kept as the address has it: line breaks show as ␍ ␊, invisible characters as ⟨U+…⟩. Clear to change it."
    : "";
}

start().catch((error) => showError(error instanceof Error ? error.message : String(error)));
