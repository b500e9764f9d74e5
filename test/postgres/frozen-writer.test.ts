// A writer frozen in the middle of an insert (SIGSTOP, `docker pause`, a suspended VM) holds the
// writers' lock in a COPY that waits for data: its host still acknowledges TCP, so keepalive never
// ends the session, its own limit cannot run, and statement_timeout does not apply while the server
// waits for the client. Every other writer of the fleet waited until it was thawed. A store that gave
// an insert up now ends such a session once it has waited longer than twice the queryTimeoutMs its
// own writer gives up after (the COPY states it).
//
// The frozen writer is a client of the test's own that starts the store's COPY (its very statement)
// under the writers' lock and sends nothing more: what the server sees of a frozen process (its socket
// open, no data).
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copySql } from "../../src/postgres/copy.js";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { LOCKS } from "../../src/postgres/schema.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const events = (n: number) => Array.from({ length: n }, (_, i) => sampleEvent({ eventId: `b-${i}` }));

/**
 * A session holding the writers' lock, as a writer frozen in its COPY (of a writer that gives up after
 * `copy` ms) or, with `copy` undefined, between statements.
 */
async function holdWritersLock(
  url: string,
  copy: number | undefined,
): Promise<{ client: pg.Client; pid: number; ended: Promise<unknown> }> {
  const client = new pg.Client({ connectionString: url });
  const ended = new Promise((resolve) => client.on("error", resolve));
  await client.connect();
  const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() pid")).rows[0]?.pid ?? 0;
  await client.query("BEGIN");
  await client.query("SELECT pg_advisory_xact_lock($1)", [LOCKS.write]);
  if (copy !== undefined) {
    const stream = client.query(copyFrom(copySql(copy)));
    stream.on("error", () => {}); // the session ended under it: seen through `ended`
  }
  return { client, pid, ended };
}

/** Tries `insert` until it resolves or `tries` failed; the messages of the failures. */
async function insertUntilStored(
  store: PostgresStore,
  tries: number,
): Promise<{ stored: number; failures: string[] }> {
  const failures: string[] = [];
  for (let i = 0; i < tries; i++) {
    try {
      return { stored: await store.insert(events(3)), failures };
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  return { stored: 0, failures };
}

describe("a writer frozen while it holds the writers' lock", () => {
  it("in its COPY: a store that gave an insert up ends it after twice its queryTimeoutMs, and goes on", async () => {
    const url = await server.createDatabase();
    const store = await openPostgresStore({ connectionString: url, queryTimeoutMs: 1000 });
    const frozen = await holdWritersLock(url, 1000);
    const observer = new pg.Client({ connectionString: url });
    await observer.connect();
    try {
      const { rows } = await observer.query(
        "SELECT state, wait_event FROM pg_stat_activity WHERE pid = $1 AND left(query, 5) = 'COPY '",
        [frozen.pid],
      );
      expect(rows).toStrictEqual([{ state: "active", wait_event: "ClientRead" }]);

      const { stored, failures } = await insertUntilStored(store, 10);
      expect(stored).toBe(3);
      // The first try waited for the lock in vain: nothing was ended before a session was given up.
      expect(failures.length).toBeGreaterThan(0);
      expect(new Set(failures)).toStrictEqual(
        new Set([`postgres store ${store.name}: no reply within 1000 ms (queryTimeoutMs)`]),
      );
      expect(await frozen.ended).toBeInstanceOf(Error); // pg_terminate_backend ended its connection
      const left = await observer.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [frozen.pid]);
      expect(left.rowCount).toBe(0);
    } finally {
      await observer.end();
      await store.close();
      await frozen.client.end().catch(() => {});
    }
  }, 60_000);

  it.each([
    // The server's own limits decide on it.
    { where: "between statements", copy: undefined },
    // A writer that may rightly take that long (a large batch on a slow link): its own limit decides.
    { where: "in the COPY of a writer with a longer queryTimeoutMs", copy: 600_000 },
  ])(
    "$where: left alone",
    async ({ copy }) => {
      const url = await server.createDatabase();
      const store = await openPostgresStore({ connectionString: url, queryTimeoutMs: 500 });
      const holder = await holdWritersLock(url, copy);
      try {
        // Four tries: past twice this store's queryTimeoutMs after the first was given up.
        const { stored, failures } = await insertUntilStored(store, 4);
        expect([stored, failures.length]).toStrictEqual([0, 4]);
        const observer = new pg.Client({ connectionString: url });
        await observer.connect();
        const alive = await observer.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [holder.pid]);
        await observer.end();
        expect(alive.rowCount).toBe(1);
      } finally {
        await holder.client.end().catch(() => {});
        await store.close();
      }
    },
    60_000,
  );
});
