// The PostgreSQL store's stats() runs six statements. Sent at once on a small pool (the CLI's has two
// connections), those waiting behind slow ones (a big store, a lock held by a migration or a VACUUM FULL)
// failed at connectTimeoutMs with "no connection", whatever queryTimeoutMs allowed (review R132). With a
// real PostgreSQL: a lock held on the events table for longer than connectTimeoutMs, and released well
// within queryTimeoutMs, delays stats() but does not fail it.
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { EVENTS_TABLE } from "../../src/postgres/schema.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

it("waits for a lock held past connectTimeoutMs, within queryTimeoutMs, and counts", async () => {
  const url = await server.createDatabase();
  const store = await openPostgresStore({
    connectionString: url,
    poolSize: 2,
    connectTimeoutMs: 1000,
    queryTimeoutMs: 30_000,
  });
  const holder = new pg.Client({ connectionString: url });
  holder.on("error", () => {});
  try {
    await store.insert([sampleEvent({ eventId: "e-1" }), sampleEvent({ eventId: "e-2" })]);
    await holder.connect();
    await holder.query("BEGIN");
    await holder.query(`LOCK TABLE ${EVENTS_TABLE} IN ACCESS EXCLUSIVE MODE`);
    const stats = store.stats({});
    // Released once stats() has waited on the lock longer than connectTimeoutMs.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await holder.query("ROLLBACK");
    expect((await stats).total).toBe(2);
  } finally {
    await holder.end();
    await store.close();
  }
}, 60_000);
