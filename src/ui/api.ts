import { CHAIN_FINDING_KINDS, type ChainFindingKind } from "../chain/verify-types.js";
import { EVENT_KINDS, eventKind } from "../event/kinds.js";
import { eventToJson } from "../event/serialize.js";
import { EventType, eventTypeToJSON } from "../gen/grpcaudit/v1/event.js";
import type { AuditPage } from "../store/audit-store.js";
import type { AuditQuery } from "../store/query.js";
import {
  DECISIONS,
  eventIdParam,
  FILTER_PARAMS,
  filterFromParams,
  PAGE_PARAMS,
  pageFromParams,
  readParams,
} from "./api-params.js";
import { UiHttpError } from "./http-error.js";
import { timeline } from "./timeline.js";
import type { UiSource, UiVerifyReport } from "./ui-source.js";

/** Each event kind's dotted name (the `type` filter) and its `eventType` in proto3 JSON (the events). */
const KINDS = EVENT_KINDS.map((name) => ({ name, eventType: eventTypeToJSON(eventTypeOf(name)) }));

/** Most findings, and most unreadable rows, /api/verify lists. */
const MAX_LISTED = 100;

/** An API answer: its status and the value its JSON body holds. @internal */
export interface ApiResponse {
  status: number;
  body: unknown;
}

/**
 * Answers one GET under /api/ from the source:
 * - `/api/info`: the store's name, the event kinds (dotted name and proto3 JSON type) and decisions;
 * - `/api/events?<filters>&limit&cursor`: one page of events, newest first, in proto3 JSON;
 * - `/api/event?id=<id>`: one event, or 404; any id a store holds, also `.` and `..`, which URL
 *   normalisation removes from a path (`/api/events/<id>`, kept for the ids a path can carry);
 * - `/api/stats?<filters>`: the store's counts, the hourly ones as the timeline of events and denials;
 * - `/api/verify`: the chain verification, with its worst finding; the first findings and unreadable
 *   rows, with their counts.
 * A bad parameter is a 400 whose `error` names it; a store error propagates (the server answers 500).
 * @internal
 */
export async function handleApi(
  source: UiSource,
  path: string,
  search: URLSearchParams,
): Promise<ApiResponse> {
  const oneEvent = /^\/api\/events\/([^/]+)$/.exec(path)?.[1];
  if (oneEvent !== undefined) {
    readParams(search, []);
    return getEvent(source, decodeSegment(oneEvent));
  }
  switch (path) {
    case "/api/event":
      return getEvent(source, eventIdParam(search));
    case "/api/info":
      readParams(search, []);
      return ok({ store: source.name, kinds: KINDS, decisions: DECISIONS });
    case "/api/events": {
      const params = readParams(search, [...FILTER_PARAMS, ...PAGE_PARAMS]);
      return ok(pageJson(await source.query(filterFromParams(params), pageFromParams(params))));
    }
    case "/api/stats":
      return ok(await statsJson(source, filterFromParams(readParams(search, FILTER_PARAMS))));
    case "/api/verify":
      readParams(search, []);
      return ok(verifyJson(await source.verify()));
    default:
      throw new UiHttpError(
        404,
        `no API at ${path}: use /api/info, /api/events, /api/event?id=<id>, /api/events/<id>, /api/stats, /api/verify`,
      );
  }
}

async function getEvent(source: UiSource, eventId: string): Promise<ApiResponse> {
  const page = await source.query({ eventId }, { limit: 1 });
  const event = page.events[0];
  if (event !== undefined) return ok({ event: eventToJson(event) });
  const row = page.undecodable?.[0];
  if (row !== undefined) return ok({ undecodable: undecodableJson(row) });
  throw new UiHttpError(404, `no event with id ${eventId} in this store`);
}

function pageJson(page: AuditPage) {
  return {
    events: page.events.map(eventToJson),
    nextCursor: page.nextCursor ?? null,
    undecodable: (page.undecodable ?? []).map(undecodableJson),
  };
}

/**
 * A stored row that cannot be read: where it is, never its bytes. Its time column may be edited too,
 * to one no Date holds: `occurredAt` is then null, not an error that would leave the whole page blank.
 */
function undecodableJson(row: NonNullable<AuditPage["undecodable"]>[number]) {
  const time = new Date(row.occurredAtMs);
  return {
    seq: row.seq,
    eventId: row.eventId,
    occurredAt: Number.isNaN(time.getTime()) ? null : time.toISOString(),
    index: row.index,
    reason: row.reason,
  };
}

/** The counts, the hourly ones with the authz denials among them as the timeline the page draws. */
async function statsJson(source: UiSource, filter: AuditQuery) {
  const { perHour, ...stats } = await source.stats(filter);
  const noDenials = filter.decision !== undefined && filter.decision !== "denied";
  const denied = noDenials ? [] : (await source.stats({ ...filter, decision: "denied" })).perHour;
  return { ...stats, timeline: timeline(perHour, denied) };
}

/**
 * The report, its worst finding (of the chains' and the trail's; an unreadable row counts as
 * `modified`) and whether all verified. It
 * lists the first MAX_LISTED findings (all chains together) and unreadable rows, with each chain's
 * `findingCount` and the `unreadableCount`: a store with many damaged rows would otherwise answer, and
 * the page draw, one entry per row.
 */
function verifyJson(report: UiVerifyReport) {
  const kinds = new Set<ChainFindingKind>(report.chains.flatMap((c) => c.findings.map((f) => f.kind)));
  for (const finding of report.findings) kinds.add(finding.kind); // empty, unchained: a few at most
  if (report.unreadable.length > 0) kinds.add("modified");
  const worst = [...CHAIN_FINDING_KINDS].reverse().find((kind) => kinds.has(kind)) ?? null;
  let room = MAX_LISTED;
  const chains = report.chains.map((chain) => {
    const findings = chain.findings.slice(0, room);
    room -= findings.length;
    return { ...chain, findings, findingCount: chain.findings.length };
  });
  return {
    ...report,
    chains,
    unreadable: report.unreadable.slice(0, MAX_LISTED),
    unreadableCount: report.unreadable.length,
    ok: worst === null,
    worst,
  };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new UiHttpError(400, "the event id in the path is not valid percent-encoding");
  }
}

function ok(body: unknown): ApiResponse {
  return { status: 200, body };
}

function eventTypeOf(kind: string): EventType {
  const type = Object.values(EventType).find((t) => eventKind(t) === kind);
  if (type === undefined) throw new Error(`no event type for kind ${kind}`); // a kind table out of step
  return type;
}
