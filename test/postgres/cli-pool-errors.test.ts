// The commands that read a PostgreSQL store for a long time (`tail`, `ui`) report a connection of
// their pool that the server ends while idle (a restart, an administrator) as an error line naming
// the store, never its password, and go on.
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { seedEvents, tailCli } from "../cli/helpers.js";
import { withClient } from "../helpers/postgres-server.js";
import { usePostgresForCli } from "../helpers/postgres-suite.js";

const server = usePostgresForCli();

describe("grpc-audit tail --db postgres://", () => {
  it("prints an error line naming the store when the server ends its idle connection, and keeps following", async () => {
    const url = await server().createDatabase();
    const database = new URL(url).pathname.slice(1);
    // One event stored: each look of the tail is then one statement. From an empty store the first look
    // also reads the rows outside the positions, and a connection idle between those reads would be
    // ended under the next one (an error of that read, not of an idle connection).
    const store = await openPostgresStore({ connectionString: url });
    await store.insert(seedEvents(1));
    await store.close();
    const withPassword = url.replace("postgres://postgres@", "postgres://postgres:s3cret-pw@");
    const run = tailCli(["--db", withPassword, "--json", "--interval-ms", "60000"]);
    await run.ready();
    // The first look for new events done, its connection idles until the next one, a minute later. One
    // connection of ours looks for it (a connection per look starts a server process each: on a busy
    // machine those alone outlasted the test), until it is found or the tail writes anything more.
    const following = run.out.stderr;
    const ended = await withClient(server().url, async (c) => {
      for (;;) {
        const r = await c.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND state = 'idle' AND query LIKE 'SELECT seq%'",
          [database],
        );
        if (r.rowCount !== 0 || run.out.stderr !== following) return r.rowCount;
        await sleep(20);
      }
    });
    expect(ended, run.out.stderr).toBe(1);
    await run.until(() => run.out.stderr.includes("error: "), "an error line");
    const stderr = `following ${url} (Ctrl-C to stop)\nerror: postgres store ${url}: terminating connection due to administrator command\n`;
    // Checked before the interrupt too: a tail that crashed (an unhandled pool error) may be gone
    // already, and then never answers it.
    expect(run.out.stderr).toBe(stderr);
    expect(await run.interrupt()).toBe(0);
    expect(run.out.stderr).toBe(stderr);
  });
});
