// A writer role given only what writing needs (SELECT and INSERT on the tables, USAGE on the
// sequence) opens a current database and writes into its existing months: opening issues no
// migration statement, and an insert no CREATE for a month that exists (PostgreSQL checks the right to
// create in the schema before it looks whether the table exists).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const MARCH = Date.parse("2026-03-01T00:00:00Z");
const event = (id: string, ms: number) => sampleEvent({ eventId: id, occurredAt: new Date(ms) });

describe("a least-privileged writer role", () => {
  it("opens the store and writes into existing months; a new month needs the migrating role", async () => {
    const url = await server.createDatabase();
    const owner = await openPostgresStore({ connectionString: url });
    expect(await owner.insert([event("owner-0", MARCH)])).toBe(1);
    await withClient(url, async (c) => {
      await c.query("CREATE ROLE audit_writer LOGIN");
      await c.query("GRANT SELECT, INSERT ON audit_events, audit_schema_version TO audit_writer");
      const seq = await c.query<{ s: string }>("SELECT pg_get_serial_sequence('audit_events', 'seq') s");
      await c.query(`GRANT USAGE ON SEQUENCE ${seq.rows[0]?.s} TO audit_writer`);
    });
    const writer = await openPostgresStore({ connectionString: url.replace("postgres@", "audit_writer@") });
    try {
      expect(await writer.insert([event("writer-0", MARCH + 1)])).toBe(1);
      // A month nobody made: the writer may not create it, and says so.
      await expect(writer.insert([event("writer-2", Date.parse("2041-07-07T00:00:00Z"))])).rejects.toThrow(
        /permission denied for schema public/,
      );
      expect(await owner.insert([event("owner-1", Date.parse("2041-07-07T00:00:00Z"))])).toBe(1);
      expect(await writer.insert([event("writer-2", Date.parse("2041-07-08T00:00:00Z"))])).toBe(1);
      const ids = (await owner.query({})).events.map((e) => e.eventId).sort();
      expect(ids).toStrictEqual(["owner-0", "owner-1", "writer-0", "writer-2"]);
    } finally {
      await writer.close();
      await owner.close();
    }
  });
});
