// The commands that read a PostgreSQL store for a long time (`tail`, `ui`) report a connection of
// their pool that the server ends while idle (a restart, an administrator) as an error line naming
// the store, never its password, and go on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, tailCli } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  [server] = await Promise.all([startPostgresServer(), ensureBuilt()]);
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await server?.stop();
});

describe("grpc-audit tail --db postgres://", () => {
  it("prints an error line naming the store when the server ends its idle connection, and keeps following", async () => {
    const url = await server.createDatabase();
    const database = new URL(url).pathname.slice(1);
    await (await openPostgresStore({ connectionString: url })).close(); // the schema
    const withPassword = url.replace("postgres://postgres@", "postgres://postgres:s3cret-pw@");
    const run = tailCli(["--db", withPassword, "--json", "--interval-ms", "60000"]);
    await run.ready();
    // The first look for new events done, its connection idles until the next one, a minute later.
    let ended = 0;
    for (let i = 0; i < 500 && ended === 0; i++) {
      ended = await withClient(server.url, async (c) => {
        const r = await c.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND state = 'idle' AND query LIKE 'SELECT seq%'",
          [database],
        );
        return r.rowCount ?? 0;
      });
      if (ended === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(ended).toBe(1);
    await run.until(() => run.out.stderr.includes("error: "), "an error line");
    expect(await run.interrupt()).toBe(0);
    expect(run.out.stderr).toBe(
      `following ${url} (Ctrl-C to stop)\nerror: postgres store ${url}: terminating connection due to administrator command\n`,
    );
  });
});
