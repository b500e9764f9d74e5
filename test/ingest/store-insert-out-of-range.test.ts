// The stores' own inserts, called by a library user, refuse an event whose `occurredAt` (or a record
// summary whose `since`) is outside 0001-01-01 to 9999-12-31 as the ingester dead-letters it
// (ingest-out-of-range-times.test.ts): with an AuditInputError naming the event and its time, and
// nothing of the batch stored (review R134). A real SQLite store and a real PostgreSQL server.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditInputError } from "../../src/errors/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";

const at = (id: string, time: Date): AuditEvent => ({
  ...sampleEvent({ kind: "resourceMutation" }),
  eventId: id,
  occurredAt: time,
});
const good = at("good", new Date("2026-01-02T03:04:05.000Z"));
const ends = [
  at("first", new Date("0001-01-01T00:00:00.000Z")),
  at("last", new Date("9999-12-31T23:59:59.999Z")),
];
const OUTSIDE: [string, Date, string][] = [
  ["year 20000", new Date("+020000-01-01T00:00:00.000Z"), "+020000-01-01T00:00:00.000Z"],
  ["year -1199", new Date("-001199-01-01T00:00:00.000Z"), "-001199-01-01T00:00:00.000Z"],
  ["an invalid Date", new Date(Number.NaN), "an invalid Date"],
];
const refusal = (got: string, field = "occurredAt") =>
  `audit store insert: events[1].${field} must be a valid Date from 0001-01-01 to 9999-12-31 (UTC), got ${got}`;

/** A record summary counting since `time`, refused as an event dated then is. */
function summarySince(time: Date): AuditEvent {
  const summary = sampleEvent({ kind: "recordSummary" });
  if (summary.detail?.$case !== "recordSummary") throw new Error("sampleEvent gave no record summary");
  return {
    ...summary,
    eventId: "summary",
    detail: { $case: "recordSummary", value: { ...summary.detail.value, since: time } },
  };
}
const SUMMARY_SINCE = "detail.value.since";

/** The error `insert` throws or rejects with, or undefined. */
async function errorOf(insert: () => unknown): Promise<unknown> {
  try {
    await insert();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe("the SQLite store's insert", () => {
  it.each(OUTSIDE)("refuses an event dated %s, storing nothing of the batch", async (_label, time, got) => {
    const store = openAuditStore({ path: join(tempDir(), "insert-out-of-range.db") });
    try {
      const error = await errorOf(() => store.insert([good, at("outside", time)]));
      expect(error).toBeInstanceOf(AuditInputError);
      expect((error as Error).message).toBe(refusal(got));
      expect(store.stats().total).toBe(0);
    } finally {
      store.close();
    }
  });

  it.each(OUTSIDE)(
    "refuses a record summary since %s, storing nothing of the batch",
    async (_label, time, got) => {
      const store = openAuditStore({ path: join(tempDir(), "insert-since-out-of-range.db") });
      try {
        const error = await errorOf(() => store.insert([good, summarySince(time)]));
        expect(error).toBeInstanceOf(AuditInputError);
        expect((error as Error).message).toBe(refusal(got, SUMMARY_SINCE));
        expect(store.stats().total).toBe(0);
      } finally {
        store.close();
      }
    },
  );

  it("stores the first and the last time a Timestamp holds", () => {
    const store = openAuditStore({ path: join(tempDir(), "insert-ends.db") });
    try {
      expect(store.insert(ends)).toBe(2);
      expect(store.query({}).events).toStrictEqual([...ends].reverse());
    } finally {
      store.close();
    }
  });
});

describe("the PostgreSQL store's insert and insertEncoded", () => {
  let server: PostgresServer;
  let store: PostgresStore;
  beforeAll(async () => {
    server = await startPostgresServer();
    store = await openPostgresStore({ connectionString: await server.createDatabase() });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it.each(OUTSIDE)("refuse an event dated %s, storing nothing of the batch", async (_label, time, got) => {
    const events = [good, at("outside", time)];
    for (const insert of [
      () => store.insert(events),
      () => store.insertEncoded(events.map((event) => ({ event, bytes: encodeEvent(good) }))),
    ]) {
      const error = await errorOf(insert);
      expect(error).toBeInstanceOf(AuditInputError);
      expect((error as Error).message).toBe(refusal(got));
    }
    expect((await store.stats()).total).toBe(0);
  });

  it.each(OUTSIDE)(
    "refuse a record summary since %s, storing nothing of the batch",
    async (_label, time, got) => {
      const events = [good, summarySince(time)];
      for (const insert of [
        () => store.insert(events),
        () => store.insertEncoded(events.map((event) => ({ event, bytes: encodeEvent(good) }))),
      ]) {
        const error = await errorOf(insert);
        expect(error).toBeInstanceOf(AuditInputError);
        expect((error as Error).message).toBe(refusal(got, SUMMARY_SINCE));
      }
      expect((await store.stats()).total).toBe(0);
    },
  );

  it("store the first and the last time a Timestamp holds", async () => {
    await expect(store.insert(ends)).resolves.toBe(2);
    expect((await store.query({})).events).toStrictEqual([...ends].reverse());
  });
});
