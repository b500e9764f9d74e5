// A PostgreSQL benchmark server brought to the state of one that has been running, before measuring.
import { openPostgresStore } from "../src/postgres/postgres-store.js";
import { type PostgresServer, withClient } from "../test/helpers/postgres-server.js";
import { benchEvent } from "./store-events.js";

/**
 * Inserts `events` benchmark events into a scratch database, drops it and checkpoints, so that the
 * server has WAL segments to reuse and its shared buffers in memory. A fresh cluster zero-fills a new
 * 16 MB WAL file at every segment switch, inside a commit, and faults each shared buffer in on first
 * use: about a quarter of PostgreSQL's CPU in a first run, never seen again on a server that ran.
 */
export async function warmUpPostgres(server: PostgresServer, events: number): Promise<void> {
  const db = await server.createDatabase();
  const store = await openPostgresStore({ connectionString: db });
  for (let i = 0; i < events; i += 5000) {
    await store.insert(Array.from({ length: Math.min(5000, events - i) }, (_, k) => benchEvent(i + k)));
  }
  await store.close();
  await dropDatabase(server.url, db);
  await withClient(server.url, (c) => c.query("CHECKPOINT"));
}

/** Drops the database `db` (a connection string of `serverUrl`'s server). */
export async function dropDatabase(serverUrl: string, db: string): Promise<void> {
  await withClient(serverUrl, (c) =>
    c.query(`DROP DATABASE ${c.escapeIdentifier(new URL(db).pathname.slice(1))}`),
  );
}
