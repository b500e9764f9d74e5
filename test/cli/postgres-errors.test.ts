// PostgreSQL's errors from a command's statements reached stderr without the store's name
// (`error: must be owner of table audit_events_202601`): they name it, as the store's own errors do.
import { describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { recordTrail } from "../chain/trail.js";
import { withClient } from "../helpers/postgres-server.js";
import { usePostgresForCli } from "../helpers/postgres-suite.js";
import { runCli } from "./helpers.js";

const server = usePostgresForCli();

describe("grpc-audit with --db postgres://", () => {
  it("a statement the server refuses is exit 1 with one line naming the store, not the password", async () => {
    const url = await server().createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    await store.insert(await recordTrail(5, { recorder: { now: () => new Date("2026-01-10T00:00:00Z") } }));
    await store.close();
    // A reader: what docs/postgres.md grants readers, which prune needs more than.
    await withClient(url, (c) =>
      c.query("CREATE ROLE reader LOGIN; GRANT SELECT ON audit_events, audit_schema_version TO reader"),
    );
    const reader = url.replace("postgres@", "reader:s3cret-pw@");
    const run = await runCli(["prune", "--db", reader, "--before", "2026-02-01"]);
    const name = url.replace("postgres@", "reader@");
    expect(run).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: `error: postgres store ${name}: permission denied for table audit_events_202601\n`,
    });
  });
});
