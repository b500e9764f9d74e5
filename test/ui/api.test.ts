/** The viewer's JSON API (handleApi) over a real SQLite store holding a day of calls (trail.ts). */
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import type { AuditQuery } from "../../src/store/query.js";
import { type ApiResponse, handleApi } from "../../src/ui/api.js";
import { UiHttpError } from "../../src/ui/http-error.js";
import type { Timeline } from "../../src/ui/timeline.js";
import type { UiSource, UiUnreadable } from "../../src/ui/ui-source.js";
import { PUBLIC_KEYS } from "../chain/trail.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { recordDay, requestIdOf } from "./trail.js";

let store: AuditStore;
let trail: AuditEvent[];
let unreadable: UiUnreadable[] = [];

/** The store as the CLI hands it to the viewer. */
const source = (): UiSource => ({
  name: store.path,
  query: async (filter, page) => store.query(filter, page),
  stats: async (filter) => store.stats(filter),
  verify: async () => ({ ...(await verifyChains(trail, { publicKeys: PUBLIC_KEYS })), unreadable }),
});

/** The API's answer to GET `path?query`; a refusal as its status and message. */
async function get(path: string, query = ""): Promise<ApiResponse> {
  try {
    return await handleApi(source(), path, new URLSearchParams(query));
  } catch (error) {
    if (error instanceof UiHttpError) return { status: error.status, body: { error: error.message } };
    throw error;
  }
}

const ids = (events: readonly { eventId?: unknown }[]) => events.map((e) => e.eventId);

beforeAll(async () => {
  trail = await recordDay();
  store = openAuditStore({ path: join(tempDir(), "trail.db") });
  store.insert(trail);
});

afterAll(() => store?.close());

describe("/api/events", () => {
  it.each<[string, AuditQuery]>([
    ["actor=alice", { actorId: "alice" }],
    ["type=authz.decision,tuple.change", { type: ["authz.decision", "tuple.change"] }],
    ["target-type=project&target-id=p-2", { targetType: "project", targetId: "p-2" }],
    ["decision=denied", { decision: "denied" }],
    ["result=failure", { success: false }],
    ["result=success&actor=bob", { success: true, actorId: "bob" }],
    [`request-id=${requestIdOf(12)}`, { requestId: requestIdOf(12) }],
    [
      "operation=/example.v1.ProjectService/CreateProject",
      { operation: "/example.v1.ProjectService/CreateProject" },
    ],
    [
      "from=2026-11-20T05:00Z&to=2026-11-20T06:30:00.000Z",
      { from: new Date("2026-11-20T05:00Z"), to: new Date("2026-11-20T06:30Z") },
    ],
  ])("?%s lists what the store's query lists for that filter", async (query, filter) => {
    const expected = store.query(filter, { limit: 1000 }).events;
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(trail.length);
    const answer = await get("/api/events", `${query}&limit=1000`);
    expect(answer).toEqual({
      status: 200,
      body: { events: expected.map(eventToJson), nextCursor: null, undecodable: [] },
    });
  });

  it("pages 50 events by default, newest first, and follows the cursor", async () => {
    const first = (await get("/api/events")).body as { events: { eventId: string }[]; nextCursor: string };
    expect(ids(first.events)).toEqual(ids(trail.slice(-50).reverse()));
    const second = (await get("/api/events", `limit=20&cursor=${first.nextCursor}`)).body as {
      events: { eventId: string }[];
    };
    expect(ids(second.events)).toEqual(ids(trail.slice(-70, -50).reverse()));
  });

  it("finds one event by id, and answers 404 for an id the store lacks", async () => {
    const event = trail[7] as AuditEvent;
    expect(await get(`/api/events/${event.eventId}`)).toEqual({
      status: 200,
      body: { event: eventToJson(event) },
    });
    expect(await get("/api/events/no%20such%20id")).toEqual({
      status: 404,
      body: { error: "no event with id no such id in this store" },
    });
  });
});

describe("a store with a damaged row", () => {
  it("names the row in the page, in its place, and answers for its id with where it is", async () => {
    const db = join(tempDir(), "damaged.db");
    const damaged = openAuditStore({ path: db });
    const events = trail.slice(0, 3);
    damaged.insert(events);
    const raw = new BetterSqlite3(db);
    raw.prepare("UPDATE events SET event = ? WHERE seq = 2").run(Buffer.from([0x0f])); // no wire type 7
    raw.close();
    const row = {
      seq: 2,
      eventId: events[1]?.eventId,
      occurredAt: events[1]?.occurredAt?.toISOString(),
      index: 1,
      reason: "the stored bytes are not an AuditEvent (cant skip wire type 7)",
    };
    const damagedSource: UiSource = {
      ...source(),
      query: async (filter, page) => damaged.query(filter, page),
    };
    try {
      expect(await handleApi(damagedSource, "/api/events", new URLSearchParams())).toEqual({
        status: 200,
        body: {
          events: [events[2], events[0]].map((e) => eventToJson(e as AuditEvent)),
          nextCursor: null,
          undecodable: [row],
        },
      });
      expect(await handleApi(damagedSource, `/api/events/${row.eventId}`, new URLSearchParams())).toEqual({
        status: 200,
        body: { undecodable: { ...row, index: 0 } },
      });
    } finally {
      damaged.close();
    }
  });
});

describe("an event whose values are longer than the Recorder writes (another producer's)", () => {
  it("is listed by each value the event page links to: its actor, target and request", async () => {
    const long = (text: string) => text.repeat(1500 / text.length);
    const sample = sampleEvent();
    const event = sampleEvent({
      actor: { ...(sample.actor as NonNullable<AuditEvent["actor"]>), id: long("actor ") },
      target: { type: long("type "), id: long("target "), name: "" },
      requestId: long("request "),
    });
    const longStore = openAuditStore({ path: join(tempDir(), "long.db") });
    longStore.insert([event, sampleEvent({ kind: "resourceMutation" })]);
    const longSource: UiSource = {
      ...source(),
      query: async (filter, page) => longStore.query(filter, page),
    };
    const listed = async (params: Record<string, string>) =>
      handleApi(longSource, "/api/events", new URLSearchParams(params)).catch((error: unknown) => error);
    try {
      const expected = {
        status: 200,
        body: { events: [eventToJson(event)], nextCursor: null, undecodable: [] },
      };
      expect(await listed({ actor: long("actor ") })).toEqual(expected);
      expect(await listed({ "target-type": long("type "), "target-id": long("target ") })).toEqual(expected);
      expect(await listed({ "request-id": long("request ") })).toEqual(expected);
    } finally {
      longStore.close();
    }
  });
});

describe("/api/stats, /api/verify, /api/info", () => {
  it("counts as the store does, the hours as a timeline of events and authz denials", async () => {
    const answer = await get("/api/stats", "actor=dave");
    const { perHour, ...counts } = store.stats({ actorId: "dave" });
    const denied = store.stats({ actorId: "dave", decision: "denied" }).perHour;
    expect(denied.length).toBeGreaterThan(0);
    // A day: one bucket an hour, from the first hour with events to the last, empty hours included.
    const first = Date.parse(perHour[0]?.hour ?? "");
    const hours = (Date.parse(perHour.at(-1)?.hour ?? "") - first) / 3_600_000 + 1;
    const countAt = (entries: typeof perHour, hour: string) =>
      entries.find((h) => h.hour === hour)?.count ?? 0;
    const buckets = Array.from({ length: hours }, (_, i) => {
      const start = new Date(first + i * 3_600_000).toISOString();
      return { start, events: countAt(perHour, start), denied: countAt(denied, start) };
    });
    expect(answer).toEqual({ status: 200, body: { ...counts, timeline: { hours: 1, buckets } } });
    // Filtered to allowed decisions, there are no denials to count.
    const allowed = (await get("/api/stats", "decision=allowed")).body as { timeline: Timeline };
    expect(allowed.timeline.buckets.map((b) => b.denied)).toEqual(allowed.timeline.buckets.map(() => 0));
  });

  it("verifies the chains; an unreadable row makes the worst finding `modified`", async () => {
    expect((await get("/api/verify")).body).toMatchObject({ ok: true, worst: null, events: trail.length });
    unreadable = [{ where: "row 3 (event e-3)", reason: "invalid wire type" }];
    try {
      expect((await get("/api/verify")).body).toMatchObject({ ok: false, worst: "modified", unreadable });
    } finally {
      unreadable = [];
    }
  });

  it("makes an empty trail expected sealed a finding: worst `empty`, not ok", async () => {
    const empty: UiSource = {
      ...source(),
      verify: async () => ({
        ...(await verifyChains([], { publicKeys: PUBLIC_KEYS, expectSealed: true })),
        unreadable: [],
      }),
    };
    expect((await handleApi(empty, "/api/verify", new URLSearchParams())).body).toMatchObject({
      ok: false,
      worst: "empty",
      chains: [],
      findings: [{ kind: "empty", eventId: "", detail: "the trail holds no event: nothing was verified" }],
    });
  });

  it("names the store, the event kinds and the decisions", async () => {
    expect(await get("/api/info")).toEqual({
      status: 200,
      body: {
        store: store.path,
        kinds: [
          { name: "authn.result", eventType: "EVENT_TYPE_AUTHN_RESULT" },
          { name: "authz.decision", eventType: "EVENT_TYPE_AUTHZ_DECISION" },
          { name: "tuple.change", eventType: "EVENT_TYPE_TUPLE_CHANGED" },
          { name: "resource.mutation", eventType: "EVENT_TYPE_RESOURCE_MUTATION" },
          { name: "resource.access", eventType: "EVENT_TYPE_RESOURCE_ACCESS" },
          { name: "chain.checkpoint", eventType: "EVENT_TYPE_CHAIN_CHECKPOINT" },
          { name: "record.summary", eventType: "EVENT_TYPE_RECORD_SUMMARY" },
        ],
        decisions: ["allowed", "denied", "no_rule", "error"],
      },
    });
  });
});

describe("bad input", () => {
  const ISO = "must be an ISO time in UTC, such as 2026-11-23T10:00:00Z";
  it.each([
    ["/api/events", "limit=0", "`limit` must be an integer from 1 to 1000"],
    ["/api/events", "limit=1001", "`limit` must be an integer from 1 to 1000"],
    ["/api/events", "limit=ten", "`limit` must be an integer from 1 to 1000"],
    ["/api/events", "cursor=nope", "`cursor` is not one this viewer gave out: use the nextCursor of a page"],
    ["/api/events", "from=yesterday", `\`from\` ${ISO}`],
    ["/api/events", "from=2026-11-20T05:00", `\`from\` ${ISO}`],
    ["/api/events", "to=2026-02-30T00:00Z", `\`to\` ${ISO}`],
    ["/api/events", "to=2026-11-20T24:00Z", `\`to\` ${ISO}`],
    ["/api/stats", "from=2026-11-21T00:00Z&to=2026-11-20T00:00Z", "`from` must be before `to`"],
    [
      "/api/events",
      "type=authz",
      "`type` must be one or more of authn.result, authz.decision, tuple.change, resource.mutation, resource.access, chain.checkpoint, record.summary, separated by commas",
    ],
    ["/api/events", "decision=maybe", "`decision` must be one of allowed, denied, no_rule, error"],
    ["/api/events", "result=ok", "`result` must be success or failure"],
    ["/api/stats", "trace-id=XYZ", "`trace-id` must be 32 lowercase hex digits, as in a traceparent header"],
    ["/api/events", "actor=a&actor=b", "parameter `actor` is given twice"],
    ["/api/events", "actor=", "parameter `actor` is empty: leave it out to match every value"],
    [
      "/api/stats",
      "limit=5",
      "unknown parameter `limit`: use from, to, type, result, decision, actor, target-type, target-id, operation, service, request-id, trace-id",
    ],
    ["/api/verify", "sealed=1", "unknown parameter `sealed`: this endpoint takes none"],
    ["/api/events/%E0%A4%A", "", "the event id in the path is not valid percent-encoding"],
    ["/api/event", "", "parameter `id` is missing: the event's id"],
    ["/api/event", "id=a&id=b", "parameter `id` is given twice"],
    ["/api/event", "id=a&limit=1", "unknown parameter `limit`: use id"],
  ])("%s?%s answers 400: %s", async (path, query, message) => {
    expect(await get(path, query)).toEqual({ status: 400, body: { error: message } });
  });

  it("answers 404 for a path under /api/ that is no endpoint, naming every endpoint", async () => {
    expect(await get("/api/event/x")).toEqual({
      status: 404,
      body: {
        error:
          "no API at /api/event/x: use /api/info, /api/events, /api/event?id=<id>, /api/events/<id>, /api/stats, /api/verify",
      },
    });
  });
});
