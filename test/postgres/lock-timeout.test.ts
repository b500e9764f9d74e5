// A lock_timeout set on the database (ALTER DATABASE … SET lock_timeout, as an administrator sets
// statement_timeout for the apps' roles) failed a prune waiting for the writers' lock, and a replica's
// opening while another migrates. Both are the store's own waits: they wait.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { LOCKS } from "../../src/postgres/schema.js";
import { recordTrail } from "../chain/trail.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

/** A fresh database whose sessions get `lock_timeout` = 1 ms. */
async function impatientDatabase(): Promise<string> {
  const url = await server.createDatabase();
  const name = new URL(url).pathname.slice(1);
  await withClient(url, (c) => c.query(`ALTER DATABASE "${name}" SET lock_timeout = '1ms'`));
  return url;
}

/** Runs `waiter` while another session holds advisory lock `key`, released once `waiter` waits for it (or settled). */
async function whileLocked<T>(url: string, key: number, waiter: () => Promise<T>): Promise<T> {
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  try {
    await holder.query("BEGIN");
    await holder.query("SELECT pg_advisory_xact_lock($1)", [key]);
    const waiting = waiter();
    const seen = async () => {
      for (;;) {
        // Another session: within the holder's transaction, the activity read first would be kept.
        const found = await withClient(url, (c) =>
          c.query(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory'",
          ),
        );
        if (found.rowCount !== 0) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // Held well past the 1 ms lock_timeout once the waiter waits (or sooner when it gave up).
    await Promise.race([
      seen().then(() => new Promise((resolve) => setTimeout(resolve, 100))),
      waiting.catch(() => {}),
    ]);
    await holder.query("COMMIT");
    return await waiting;
  } finally {
    await holder.end();
  }
}

describe("a database's lock_timeout", () => {
  it("does not fail a prune waiting for the writers' lock", async () => {
    const url = await impatientDatabase();
    const store = await openPostgresStore({ connectionString: url });
    try {
      await store.insert(
        await recordTrail(10, { recorder: { now: () => new Date("2026-01-10T00:00:00Z") } }),
      );
      const report = await whileLocked(url, LOCKS.write, () =>
        store.pruneReport({ before: new Date("2026-02-01T00:00:00Z") }),
      );
      expect(report.deleted).toBe(11); // 10 mutations and the closing checkpoint
    } finally {
      await store.close();
    }
  });

  it("does not fail an opening while another process migrates", async () => {
    const url = await impatientDatabase();
    const store = await whileLocked(url, LOCKS.migrate, () => openPostgresStore({ connectionString: url }));
    await store.close();
    expect(store.name).toBe(url);
  });
});
