// A month made ahead waits for the events table's lock, which a manual VACUUM or ANALYZE (or a prune,
// a migration) holds for long. No write needs that month: it must not delay the writes into existing
// months. Tried before every batch, waiting the 2 s a needed month waits, it made one batch per 2 s
// out of each store for as long as the lock was held: the delivery queue filled, and dropped events.
import pg from "pg";
import { afterAll, afterEach, beforeAll, expect, it, vi } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { AHEAD_RETRY_MS } from "../../src/postgres/months-ahead.js";
import { partitionOf } from "../../src/postgres/partitions.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * A pool whose sessions note in `log` what the store did about partitions: `create <table>` for each
 * partition it began to make, `locked <lock_timeout> ms` for each wait for a lock that ran out.
 */
function loggingPool(url: string, log: string[]): pg.Pool {
  const pool = new pg.Pool({ connectionString: url });
  pool.on("error", () => {}); // an idle connection server.stop() may end before pool.end() has
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    let lockMs = "";
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const text = String(args[0]);
      lockMs = /SET LOCAL lock_timeout = (\d+)/.exec(text)?.[1] ?? lockMs;
      const created = /^CREATE TABLE (\w+)/.exec(text)?.[1];
      if (created !== undefined) log.push(`create ${created}`);
      const result = query(...args);
      // A COPY's stream is returned as it is: only statements are awaited.
      if (!(result instanceof Promise)) return result;
      return result.catch((error: { code?: string }) => {
        if (error.code === "55P03") log.push(`locked ${lockMs} ms`);
        throw error;
      });
    };
  });
  return pool;
}

it("while the events table stays locked, writes into the current month try no month ahead; one after the retry delay makes it, though the wall clock stepped back", async () => {
  // The store's clocks, held still: the retry delay passes when the test says so.
  let now = Date.now();
  vi.spyOn(Date, "now").mockImplementation(() => now);
  let monotonic = performance.now();
  vi.spyOn(performance, "now").mockImplementation(() => monotonic);
  const at = new Date(now); // every event's time: of the current month
  const current = partitionOf(now);
  const next = partitionOf(current.toMs);
  const url = await server.createDatabase();
  await (await openPostgresStore({ connectionString: url })).close();
  await withClient(url, (c) => c.query(`DROP TABLE ${next.name}`)); // next month not made yet
  const exists = (name: string) =>
    withClient(url, async (c) => (await c.query("SELECT to_regclass($1) t", [name])).rows[0].t !== null);

  // What a manual ANALYZE or VACUUM of the events table holds.
  const locker = new pg.Client({ connectionString: url });
  await locker.connect();
  await locker.query("BEGIN; LOCK TABLE audit_events IN SHARE UPDATE EXCLUSIVE MODE");
  const log: string[] = [];
  const pool = loggingPool(url, log);
  const store = await openPostgresStore({ pool });
  try {
    // The opening waited a little, not a write's 2 s.
    const opening = [`create ${next.name}`, "locked 100 ms"];
    expect(log).toStrictEqual(opening);
    for (let i = 0; i < 5; i++) {
      expect(await store.insert([sampleEvent({ eventId: `locked-${i}`, occurredAt: at })])).toBe(1);
    }
    expect(log).toStrictEqual(opening); // no insert waited for the lock
    await locker.query("ROLLBACK");
    expect(await store.insert([sampleEvent({ eventId: "released", occurredAt: at })])).toBe(1);
    expect(log).toStrictEqual(opening); // not tried again before the delay
    expect(await exists(next.name)).toBe(false);

    // The delay passed on the monotonic clock while the wall clock was stepped back (NTP, a VM resumed).
    monotonic += AHEAD_RETRY_MS;
    now -= 60_000;
    expect(await store.insert([sampleEvent({ eventId: "later", occurredAt: at })])).toBe(1);
    expect(log).toStrictEqual([...opening, `create ${next.name}`]);
    expect(await exists(next.name)).toBe(true);
  } finally {
    await locker.end();
    await store.close();
    await pool.end();
  }
});
