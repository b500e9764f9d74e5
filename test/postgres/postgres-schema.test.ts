// The PostgreSQL store's schema versions and its insert statement: a database made by migration 1 is
// brought to the current indexes with its events, and a batch holding an id already stored, or one id
// twice, stores each event once (the plain INSERT fails on it and the batch goes again, skipping them).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { batchTimes, columnsOf, insertBatch } from "../../src/postgres/insert.js";
import { ensurePartitions, missingPartitions } from "../../src/postgres/partitions.js";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/postgres/schema.js";
import type { AuditQuery } from "../../src/store/query.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";
import { expectedIds, recordedEvents, TRACE } from "../store-contract/events.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

/** The index definitions of the events table (the partitioned parent), by name. */
async function indexes(url: string): Promise<Record<string, string>> {
  const result = await withClient(url, (c) =>
    c.query<{ name: string; def: string }>(
      "SELECT indexname name, indexdef def FROM pg_indexes WHERE tablename = 'audit_events' ORDER BY 1",
    ),
  );
  return Object.fromEntries(result.rows.map((r) => [r.name, r.def.replace(/^.* USING /, "")]));
}

describe("PostgreSQL store schema", () => {
  it("migrates a version-1 database to the current indexes, keeping its events", async () => {
    const url = await server.createDatabase();
    const events = recordedEvents(300);
    await withClient(url, async (client) => {
      // Version 1 as its migration alone made it, with events stored by its insert.
      await client.query("BEGIN");
      await client.query("CREATE TABLE audit_schema_version (version integer NOT NULL)");
      await client.query("INSERT INTO audit_schema_version VALUES (1)");
      await client.query(MIGRATIONS[0] ?? "");
      const rows = events.map((event) => ({ event, bytes: encodeEvent(event) }));
      const batch = columnsOf(rows);
      await ensurePartitions(client, missingPartitions(batchTimes(batch), new Set()), new Set());
      expect(await insertBatch(client, batch, undefined, 30_000)).toBe(300);
      await client.query("COMMIT");
    });
    expect(await indexes(url)).toMatchObject({ audit_events_actor: "btree (actor_id, occurred_at_ms, seq)" });

    const store = await openPostgresStore({ connectionString: url });
    try {
      const version = await withClient(url, (c) => c.query("SELECT version FROM audit_schema_version"));
      expect(version.rows).toStrictEqual([{ version: SCHEMA_VERSION }]);
      expect(await indexes(url)).toStrictEqual({
        audit_events_actor: "btree (actor_id, occurred_at_ms)",
        audit_events_pkey: "btree (event_id, occurred_at_ms)",
        audit_events_request: "btree (request_id)",
        audit_events_seq: "btree (seq)",
        audit_events_target: "btree (target_type, target_id, occurred_at_ms)",
        audit_events_time: "btree (occurred_at_ms)",
        audit_events_trace: "btree (trace_id) WHERE (trace_id <> ''::text)",
      });
      const filters: AuditQuery[] = [
        {},
        { actorId: "alice" },
        { targetType: "project", targetId: "p-3" },
        { requestId: "req-3" },
        { traceId: TRACE },
      ];
      for (const filter of filters) {
        const page = await store.query(filter, { limit: 1000 });
        expect(page.events.map((e) => e.eventId)).toStrictEqual(expectedIds(events, filter));
      }
      const one = events[7]?.eventId ?? "";
      expect((await store.query({ eventId: one })).events.map((e) => e.eventId)).toStrictEqual([one]);
      expect((await store.tail(0, 1000)).events).toStrictEqual(events);
      expect(await store.insert([...recordedEvents(5, 300), events[0] as AuditEvent])).toBe(5);
    } finally {
      await store.close();
    }
  });

  it("a batch holding stored ids, or one id twice, stores each event once and all of the rest", async () => {
    const url = await server.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    try {
      const [a, b, c, d] = recordedEvents(4);
      if (a === undefined || b === undefined || c === undefined || d === undefined) throw new Error("events");
      expect(await store.insert([a, b])).toBe(2);
      expect(await store.insert([c, b, a])).toBe(1); // a redelivery with a new event
      expect(await store.insert([d, d])).toBe(1); // a message delivered twice in one batch
      expect(await store.insert([c, d])).toBe(0);
      expect((await store.tail(0)).events).toStrictEqual([a, b, c, d]);
    } finally {
      await store.close();
    }
  });
});
