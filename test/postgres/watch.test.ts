// The check behind the store's long operations (migration, prune), against a real server: a session
// that is there is alive, one that ended (or a process id reused by another session) is lost, and a
// pool with no connection to spare skips the check rather than wait for the work's own connection.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStrays, type Limit, type Stray } from "../../src/postgres/session.js";
import { watchLimit } from "../../src/postgres/watch.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

/** The server session of `client`, as the store knows it. */
async function identity(client: pg.ClientBase): Promise<Stray> {
  const { rows } = await client.query<{ pid: number; started_us: string }>(
    "SELECT pg_backend_pid() pid, (extract(epoch FROM backend_start) * 1000000)::bigint::text started_us FROM pg_stat_get_activity(pg_backend_pid())",
  );
  const row = rows[0];
  if (row === undefined) throw new Error("no session");
  return { pid: row.pid, startedUs: row.started_us };
}

function alive(limit: Limit): (self: Stray | null) => Promise<string | undefined> {
  if (!("alive" in limit)) throw new Error("not a watch");
  return limit.alive;
}

/**
 * A pool whose connections may fail after it ended without an unhandled 'error': `end()` resolves
 * before its idle connections have closed, and the server stopping at the end ends them first on a
 * busy machine (the pool then emits the error of an idle connection itself).
 */
function quietPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

async function until(done: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; !(await done()); tries++) {
    if (tries === 500) throw new Error("the session did not end");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const watch = (pool: pg.Pool) =>
  watchLimit(pool, {
    everyMs: 5000,
    connectTimeoutMs: 5000,
    strays: createStrays(),
    lost: (why) => new Error(why),
  });

describe("the check of a long operation", () => {
  it("finds a session that is there alive, and one that ended or whose process id was reused lost", async () => {
    const pool = quietPool({ connectionString: server.url, max: 3 });
    const other = new pg.Client({ connectionString: server.url });
    other.on("error", () => {}); // it is ended below, on purpose
    await other.connect();
    try {
      const check = alive(watch(pool));
      const self = await identity(other);
      expect(await check(self)).toBeUndefined();
      expect(await check({ pid: self.pid, startedUs: String(BigInt(self.startedUs) - 1n) })).toBe(
        "its server session has ended",
      );
      await pool.query("SELECT pg_terminate_backend($1)", [self.pid]);
      // pg_terminate_backend only signals: wait until the server has let the session go.
      await until(
        async () =>
          (await pool.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [self.pid])).rowCount === 0,
      );
      expect(await check(self)).toBe("its server session has ended");
      expect(await check(null)).toBeUndefined(); // unknown: only the server's answer counts
    } finally {
      await other.end().catch(() => {});
      await pool.end();
    }
  });

  it("skips the check while the pool has no connection to spare", async () => {
    const pool = quietPool({ connectionString: server.url, max: 1, connectionTimeoutMillis: 60_000 });
    const busy = await pool.connect();
    try {
      // Would otherwise wait for `busy`, the work's own connection, then say it ended.
      expect(await alive(watch(pool))({ pid: 1, startedUs: "0" })).toBeUndefined();
    } finally {
      busy.release();
      await pool.end();
    }
  });
});
