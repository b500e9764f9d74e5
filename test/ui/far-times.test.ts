// The viewer's API over a real SQLite store holding an event no page can show: its record summary's
// `since` is past what a JavaScript Date holds. The list, the event and "Follow this request" answer
// 200 with that row as unreadable in its place, never 500 for the whole page.
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventToJson } from "../../src/event/serialize.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { type ApiResponse, handleApi } from "../../src/ui/api.js";
import type { UiSource } from "../../src/ui/ui-source.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { withFarSince } from "../store/far-time.js";

const before = sampleEvent({ kind: "authz", occurredAt: new Date("2026-01-02T03:04:00Z") });
const summary = sampleEvent({ kind: "recordSummary" });
const edited = sampleEvent({ kind: "tupleChange", occurredAt: new Date("2026-01-02T03:04:07Z") });
const after = sampleEvent({ kind: "authn", occurredAt: new Date("2026-01-02T03:04:09Z") });
let store: AuditStore;

const source = (): UiSource => ({
  name: store.path,
  query: async (filter, page) => store.query(filter, page),
  stats: async (filter) => store.stats(filter),
  verify: async () => {
    throw new Error("not read here");
  },
});
const get = (path: string, query = ""): Promise<ApiResponse> =>
  handleApi(source(), path, new URLSearchParams(query));

const unreadableSummary = {
  seq: 2,
  eventId: summary.eventId,
  occurredAt: "2026-01-02T03:04:05.678Z",
  reason: "the event's recordSummary.since is not a time a JavaScript Date can hold",
};

beforeAll(() => {
  const db = join(tempDir(), "far-since.db");
  store = openAuditStore({ path: db });
  store.insert([before, summary, edited, after]);
  const raw = new BetterSqlite3(db);
  raw.prepare("UPDATE events SET event = ? WHERE seq = 2").run(withFarSince(summary));
  // A time column edited to one no Date holds (8.64e15 ms is the last): the row no longer matches its event.
  raw.prepare("UPDATE events SET occurred_at_ms = 9e15 WHERE seq = 3").run();
  raw.close();
});
afterAll(() => store?.close());

describe("an event whose times no Date holds, in the viewer", () => {
  it("/api/events lists the other events, and those rows as unreadable in their places", async () => {
    expect(await get("/api/events")).toStrictEqual({
      status: 200,
      body: {
        events: [after, before].map(eventToJson),
        nextCursor: null,
        undecodable: [
          {
            seq: 3,
            eventId: edited.eventId,
            occurredAt: null,
            index: 0,
            reason: "the stored event's time does not match its row",
          },
          { ...unreadableSummary, index: 1 },
        ],
      },
    });
  });

  it("/api/event answers the row as unreadable", async () => {
    expect(await get("/api/event", `id=${summary.eventId}`)).toStrictEqual({
      status: 200,
      body: { undecodable: { ...unreadableSummary, index: 0 } },
    });
  });

  it("following its request lists the request's other events", async () => {
    const answer = await get("/api/events", "request-id=req-0001&limit=1000");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      events: [after, before].map(eventToJson),
      undecodable: [expect.objectContaining({ seq: 3 }), { ...unreadableSummary, index: 1 }],
    });
  });
});
