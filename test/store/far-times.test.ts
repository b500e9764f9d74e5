// A stored event whose record summary's `since` is past what a JavaScript Date holds decodes without
// an error, but no page can show it (eventToJson throws on its invalid Date): the store lists it as
// unreadable in its place, as any other row it cannot read, and returns every other event.
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";
import { withFarSince } from "./far-time.js";

const before = sampleEvent({ kind: "authz", occurredAt: new Date("2026-01-02T03:04:00Z") });
const summary = sampleEvent({ kind: "recordSummary" });
const after = sampleEvent({ kind: "authn", occurredAt: new Date("2026-01-02T03:04:09Z") });
/** The summary's row, once its event's `since` is past a Date's range. */
const row = {
  seq: 2,
  eventId: summary.eventId,
  occurredAtMs: summary.occurredAt?.getTime(),
  reason: "the event's recordSummary.since is not a time a JavaScript Date can hold",
};

let postgres: PostgresServer | undefined;
afterAll(() => postgres?.stop());

it("lists a stored event whose summary's `since` no Date holds as unreadable, in its place, in queries and tails", () => {
  const db = join(tempDir(), "far-since.db");
  const store = openAuditStore({ path: db });
  store.insert([before, summary, after]);
  const raw = new BetterSqlite3(db);
  raw.prepare("UPDATE events SET event = ? WHERE seq = 2").run(withFarSince(summary));
  raw.close();

  expect(store.query({}, { limit: 10 })).toStrictEqual({
    events: [after, before],
    nextCursor: undefined,
    undecodable: [{ ...row, index: 1 }],
  });
  expect(store.query({ requestId: "req-0001" }, { limit: 10 }).undecodable).toStrictEqual([
    { ...row, index: 1 },
  ]);
  expect(store.query({ eventId: summary.eventId }, { limit: 1 })).toStrictEqual({
    events: [],
    nextCursor: undefined,
    undecodable: [{ ...row, index: 0 }],
  });
  expect(store.tail(0)).toStrictEqual({
    events: [before, after],
    lastSeq: 3,
    undecodable: [{ ...row, index: 1 }],
  });
  store.close();
});

it("lists it so in the PostgreSQL store too, which decodes its rows alike", async () => {
  postgres = await startPostgresServer();
  const url = await postgres.createDatabase();
  const store = await openPostgresStore({ connectionString: url });
  try {
    await store.insert([before, summary, after]);
    await withClient(url, (client) =>
      client.query("UPDATE audit_events SET event = $1 WHERE event_id = $2", [
        Buffer.from(withFarSince(summary)),
        summary.eventId,
      ]),
    );
    expect(await store.query({}, { limit: 10 })).toStrictEqual({
      events: [after, before],
      nextCursor: undefined,
      undecodable: [{ ...row, index: 1 }],
    });
    expect(await store.tail(0)).toStrictEqual({
      events: [before, after],
      lastSeq: 3,
      undecodable: [{ ...row, index: 1 }],
    });
  } finally {
    await store.close();
  }
}, 60_000);
