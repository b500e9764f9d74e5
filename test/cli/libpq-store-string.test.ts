// Review R101 (HIGH): a libpq keyword/value connection string (`host=… user=… password=…`), or
// another product's with a password (`Server=…;Password=…`), given as a store was taken for a SQLite
// file name: `ingest --to` printed it, password and all, in its banner and created a file by that name
// to acknowledge events into; `query|verify|prune --db` (or GRPC_AUDIT_DB) printed it in "no audit
// database at …". It is a usage error naming no part of it.
// `ingest` runs against a real nats-server, with a stream to ingest from.
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/index.js";
import { type CliRun, runCli, tempDir } from "./helpers.js";
import { runToEnd, useIngestStream } from "./refused-store-run.js";

const SECRET = "SECRETMARKTC";
const REFUSED =
  "error: the store looks like a keyword=value connection string (host=… user=…, or Password=…), which grpc-audit does not read: give a postgres:// URL, such as postgres://audit@db:5432/audit, with the password in PGPASSWORD (or ~/.pgpass, or the URL); write a SQLite file whose name holds such a pair as ./<name> or an absolute path\n";

const LIBPQ = [
  `host=127.0.0.1 user=postgres password=${SECRET}`,
  `user=postgres password=${SECRET} host=127.0.0.1`,
  `dbname=audit sslpassword=${SECRET}`,
  `HOST = 127.0.0.1 PassWord = ${SECRET}`,
  `'password=${SECRET}'`,
  // Other products' connection strings (ADO.NET, ODBC), which libpq does not read either.
  `Server=127.0.0.1;Database=audit;User Id=postgres;Password=${SECRET};`,
  `Data Source=db;Uid=postgres;Pwd=${SECRET}`,
];

const natsUrl = useIngestStream();

function expectRefused(run: CliRun, cwd: string, refused = REFUSED): void {
  expect([run.code, run.stderr]).toStrictEqual([2, refused]);
  expect(run.stdout + run.stderr).not.toContain(SECRET);
  expect(readdirSync(cwd)).toStrictEqual([]);
}

describe("a keyword/value connection string as the store", () => {
  it.each(LIBPQ)("ingest --to %# is refused before anything is opened or created", async (to) => {
    const cwd = tempDir();
    const args = ["ingest", "--from", natsUrl(), "--stream", "S", "--consumer", "c", "--to", to];
    expectRefused(await runToEnd(args, cwd), cwd);
  });

  it.each(["query", "stats", "tail", "prune", "verify", "ui"])(
    "%s --db is refused, naming no part of it",
    async (command) => {
      const cwd = tempDir();
      const args = [command, "--db", `user=postgres password=${SECRET} host=127.0.0.1`];
      if (command === "prune") args.push("--before", "2026-01-01T00:00:00Z");
      expectRefused(await runToEnd(args, cwd), cwd);
    },
  );

  it("demo --db is refused, advising a SQLite file (the demo takes no PostgreSQL URL)", async () => {
    const cwd = tempDir();
    const run = await runToEnd(["demo", "--db", `user=postgres password=${SECRET} host=127.0.0.1`], cwd);
    expectRefused(
      run,
      cwd,
      "error: the store looks like a keyword=value connection string (host=… user=…, or Password=…), which grpc-audit does not read: the demo records into a SQLite file only; write a SQLite file whose name holds such a pair as ./<name> or an absolute path\n",
    );
  });

  it.each(["query", "verify", "prune"])("%s with GRPC_AUDIT_DB set to one is refused", async (command) => {
    const cwd = tempDir();
    const args = command === "prune" ? [command, "--before", "2026-01-01T00:00:00Z"] : [command];
    const env = { GRPC_AUDIT_DB: `host=127.0.0.1 password=${SECRET}` };
    expectRefused(await runToEnd(args, cwd, env), cwd);
  });
});

describe("a SQLite path with '=' in its name", () => {
  it.each([
    "./date=2026-12-06/audit.db",
    "./user=alice/audit.db",
    "data/host=a/audit.db",
    "data/pwd=3/audit.db",
    "./my store/run=3/audit.db",
    // A path (from "/", "./" or "../") is never a connection string: the way to name such a file.
    "./my backup port=2.db",
  ])("%s is still a SQLite file", async (path) => {
    const cwd = tempDir();
    mkdirSync(join(cwd, path, ".."), { recursive: true });
    openAuditStore({ path: join(cwd, path) }).close();
    const run = await runCli(["stats", "--db", path], { cwd });
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
  });
});
