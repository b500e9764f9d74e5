// `grpc-audit ingest --to postgres://…` reports what happens to its PostgreSQL connections: a
// connection of the pool that the server ends while idle (a restart, an administrator) is an error
// line naming the store, and a path to PostgreSQL that is silent at start (no TCP reset) ends the
// command after the store's connect timeout, SIGTERM or not; `--query-timeout-ms` bounds an insert.
// Never the URL's password.
import pg from "pg";
import { describe, expect, it } from "vitest";
import { LOCKS } from "../../src/postgres/schema.js";
import { withClient } from "../helpers/postgres-server.js";
import { startSilentProxy } from "../helpers/silent-proxy.js";
import { freshStream, publishTrail, startIngest, until, useFleetServers } from "./fleet.js";

const suite = useFleetServers({ buildCli: true });

/** `url` with a password (trust authentication ignores it) and `port` instead of the server's. */
const withPassword = (url: string, port = suite.postgres.port) =>
  url.replace(
    `postgres://postgres@127.0.0.1:${suite.postgres.port}/`,
    `postgres://postgres:s3cret-pw@127.0.0.1:${port}/`,
  );

/** The process's exit, or "still running" after 30 s. */
const exitOrStillRunning = (run: ReturnType<typeof startIngest>) =>
  Promise.race([
    run.exited,
    new Promise((resolve) => setTimeout(() => resolve("still running after 30 s"), 30_000)),
  ]);

describe("grpc-audit ingest --to postgres://", () => {
  it("prints an error line naming the store when the server ends an idle connection of its pool", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const database = new URL(url).pathname.slice(1);
    const events = await publishTrail(suite.nats.url, topic, 20);
    const run = startIngest(suite.nats.url, stream, withPassword(url));
    try {
      await until(() => run.out.stderr.includes(`${events.length} inserted`), "every event stored");
      // Nothing more to insert: the pool's connections are idle when the server ends them.
      const ended = await withClient(suite.postgres.url, async (c) => {
        const r = await c.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND state = 'idle'",
          [database],
        );
        return r.rowCount;
      });
      expect(ended).toBeGreaterThan(0);
      await until(() => run.out.stderr.includes("ingest: error: "), "an error line");
      run.child.kill("SIGTERM");
      expect((await run.exited).code).toBe(0);
      expect(run.out.stderr).toContain(
        `\ningest: error: postgres store ${url}: terminating connection due to administrator command\n`,
      );
      expect(run.out.stderr).not.toContain("s3cret-pw");
    } finally {
      run.child.kill("SIGKILL");
    }
  }, 60_000);

  it("--query-timeout-ms gives up an insert held up by another writer's lock after that long, then stores it", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    // Another writer between statements under the writers' lock: the ingester's insert waits for it.
    const holder = new pg.Client({ connectionString: url });
    holder.on("error", () => {});
    await holder.connect();
    await holder.query("BEGIN");
    await holder.query("SELECT pg_advisory_xact_lock($1)", [LOCKS.write]);
    const events = await publishTrail(suite.nats.url, topic, 20);
    const run = startIngest(suite.nats.url, stream, url, "--query-timeout-ms", "1000");
    try {
      // The default (30 s) would hold the insert past this test's time.
      await until(
        () => run.out.stderr.includes("no reply within 1000 ms (queryTimeoutMs)"),
        "the insert given up",
      );
      await holder.query("ROLLBACK");
      await until(() => run.out.stderr.includes(`${events.length} inserted`), "every event stored");
      run.child.kill("SIGTERM");
      expect((await run.exited).code).toBe(0);
    } finally {
      run.child.kill("SIGKILL");
      await holder.end();
    }
  }, 60_000);

  it("a silent path to PostgreSQL at start: SIGTERM ends it at once, exit 0, not at the connect timeout", async () => {
    const { stream } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const proxy = await startSilentProxy(suite.postgres.port, true); // the server's replies held: connecting
    const run = startIngest(suite.nats.url, stream, withPassword(url, proxy.port));
    try {
      await until(() => proxy.accepted > 0, "the command connecting to PostgreSQL");
      run.child.kill("SIGTERM");
      // Without the abort the opening would fail after its 10 s connect timeout: exit 1, an error line.
      expect([await exitOrStillRunning(run), run.out.stderr]).toStrictEqual([
        { code: 0, signal: null },
        "ingest: stopped before ingesting\n",
      ]);
    } finally {
      run.child.kill("SIGKILL");
      await proxy.close();
    }
  }, 60_000);
});
