// `prune --db postgres://…` on a database without the audit schema created the schema there and
// reported "0 events deleted", exit 0, where `query` refuses the same database. It refuses too now,
// with the same message, and creates nothing.
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";

let server: PostgresServer;
let url: string;

beforeAll(async () => {
  [server] = await Promise.all([startPostgresServer(), ensureBuilt()]);
  url = await server.createDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("create table events (x int)"); // an application's database, not an audit store
  } finally {
    await client.end();
  }
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await server?.stop();
});

async function tables(): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "select table_schema || '.' || table_name as name from information_schema.tables" +
        " where table_schema not in ('pg_catalog', 'information_schema') order by 1",
    );
    return rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

it("prune refuses a database without the audit schema as query does, and creates nothing", async () => {
  const query = await runCli(["query", "--db", url]);
  expect(query.code).toBe(1);
  expect(query.stderr).toMatch(/not an audit store \(no schema\)\n$/);
  for (const args of [
    ["prune", "--before", "1d"],
    ["prune", "--before", "1d", "--cut-chains"],
  ]) {
    const prune = await runCli([...args, "--db", url]);
    expect([prune.code, prune.stdout, prune.stderr]).toStrictEqual([1, "", query.stderr]);
  }
  expect(await tables()).toStrictEqual(["public.events"]);
});
