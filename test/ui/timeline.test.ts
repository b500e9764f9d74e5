/**
 * /api/stats over a real SQLite store whose events span 23 years: its timeline has at most the 120
 * bars the page draws, not an entry per hour (200,000 hours of events answered 12 MB), and still
 * counts every event and denial.
 */
import { join } from "node:path";
import { expect, it } from "vitest";
import { AuthzDecision } from "../../src/gen/grpcaudit/v1/event.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { handleApi } from "../../src/ui/api.js";
import { MAX_BUCKETS, type Timeline } from "../../src/ui/timeline.js";
import type { UiSource } from "../../src/ui/ui-source.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";

const HOUR_MS = 3_600_000;

it("buckets 200,000 hours of events into 120 buckets of 1667 hours", async () => {
  const store = openAuditStore({ path: join(tempDir(), "years.db") });
  const start = Date.parse("2000-01-01T00:00:00Z");
  // 2001 events 100 hours apart (the last one 200,000 hours after the first), every fourth denied.
  const events = Array.from({ length: 2001 }, (_, i) => {
    const event = sampleEvent({ kind: "authz", occurredAt: new Date(start + i * 100 * HOUR_MS) });
    const authz = event.detail?.$case === "authz" ? event.detail.value : undefined;
    const decision = i % 4 === 0 ? AuthzDecision.AUTHZ_DECISION_DENIED : AuthzDecision.AUTHZ_DECISION_ALLOWED;
    return {
      ...event,
      eventId: `e-${i}`,
      detail: { $case: "authz" as const, value: { ...(authz as NonNullable<typeof authz>), decision } },
    };
  });
  store.insert(events);
  const source: UiSource = {
    name: store.path,
    query: async (filter, page) => store.query(filter, page),
    stats: async (filter) => store.stats(filter),
    verify: async () => {
      throw new Error("not read here");
    },
  };
  const answer = await handleApi(source, "/api/stats", new URLSearchParams());
  const { timeline } = answer.body as { timeline: Timeline };
  expect(timeline.buckets).toHaveLength(MAX_BUCKETS);
  expect(timeline.hours).toBe(Math.ceil(200_001 / MAX_BUCKETS));
  expect(timeline.buckets[0]?.start).toBe("2000-01-01T00:00:00.000Z");
  expect(timeline.buckets[1]?.start).toBe(new Date(start + 1667 * HOUR_MS).toISOString());
  expect(timeline.buckets.reduce((sum, b) => sum + b.events, 0)).toBe(2001);
  expect(timeline.buckets.reduce((sum, b) => sum + b.denied, 0)).toBe(501);
  expect(JSON.stringify(answer.body).length).toBeLessThan(20_000);
  store.close();
});
