// The commands that open a PostgreSQL store writable make its months ahead too, as docs/postgres.md
// tells an operator of least-privileged writers: a scheduled `grpc-audit prune` run as the owning
// role keeps them made. The reads (`query`) open it read-only and make nothing.
import { expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { runCli } from "../cli/helpers.js";
import { withClient } from "../helpers/postgres-server.js";
import { usePostgresForCli } from "../helpers/postgres-suite.js";

const server = usePostgresForCli();

/** The partitions of the events table, by name. */
async function partitionsOf(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ name: string }>(
      "SELECT c.relname name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_events'::regclass ORDER BY 1",
    );
    return rows.rows.map((r) => r.name);
  });
}

it("grpc-audit prune run as the owning role makes this month and the next; query makes none", async () => {
  const url = await server().createDatabase();
  await (await openPostgresStore({ connectionString: url })).close();
  const made = await partitionsOf(url);
  expect(made).toHaveLength(2);
  await withClient(url, (c) => c.query(made.map((name) => `DROP TABLE ${name}`).join("; ")));

  const query = await runCli(["query", "--db", url, "--json"]);
  expect([query.code, query.stderr]).toStrictEqual([0, ""]);
  expect(await partitionsOf(url)).toStrictEqual([]);

  const prune = await runCli(["prune", "--db", url, "--before", "3650d"]);
  expect([prune.code, prune.stderr]).toStrictEqual([0, ""]);
  expect(await partitionsOf(url)).toStrictEqual(made);
});
