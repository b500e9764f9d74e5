import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, seedEvents, tempDir } from "./helpers.js";

const COMMANDS = ["demo", "tail", "query", "stats", "prune"] as const;

describe.concurrent("grpc-audit errors and help", () => {
  let db: string;

  beforeAll(async () => {
    db = join(tempDir(), "audit.db");
    const store = openAuditStore({ path: db });
    store.insert(seedEvents(10));
    store.close();
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);

  it.each([["query"], ["stats"], ["tail"], ["prune", "--before", "1d"]])(
    "%s: a missing database is exit 1 with one line saying what to do, and no file is created",
    async (...args) => {
      const missing = join(tempDir(), "none.db");
      const run = await runCli([...args, "--db", missing]);
      expect(run).toStrictEqual({
        code: 1,
        stdout: "",
        stderr: `error: no audit database at ${missing}; run \`grpc-audit demo\` or pass --db\n`,
      });
      expect(existsSync(missing)).toBe(false);
    },
  );

  it("reads GRPC_AUDIT_DB when --db is not given, and ./audit.db when neither is", async () => {
    const fromEnv = await runCli(["stats", "--json"], { env: { GRPC_AUDIT_DB: db } });
    expect([fromEnv.code, JSON.parse(fromEnv.stdout).total]).toStrictEqual([0, 10]);
    const dir = tempDir();
    const fromCwd = await runCli(["stats"], { cwd: dir });
    expect([fromCwd.code, fromCwd.stderr]).toStrictEqual([
      1,
      "error: no audit database at ./audit.db; run `grpc-audit demo` or pass --db\n",
    ]);
  });

  it("a corrupt database file is exit 1, naming the file", async () => {
    const corrupt = join(tempDir(), "corrupt.db");
    writeFileSync(corrupt, Buffer.alloc(8192, "not a database "));
    for (const args of [["query"], ["stats"], ["prune", "--before", "1d"]]) {
      const run = await runCli([...args, "--db", corrupt]);
      expect([run.code, run.stderr]).toStrictEqual([
        1,
        `error: audit store ${corrupt}: the file is not a SQLite database\n`,
      ]);
    }
    const notOurs = join(tempDir(), "other.db");
    new BetterSqlite3(notOurs).exec("CREATE TABLE t (x)");
    const run = await runCli(["query", "--db", notOurs]);
    expect([run.code, run.stderr]).toStrictEqual([
      1,
      `error: audit store ${notOurs}: not an audit store (no schema)\n`,
    ]);
  });

  it("a database locked by another process is exit 1, after a short wait", async () => {
    const locked = join(tempDir(), "locked.db");
    openAuditStore({ path: locked }).close();
    const holder = new BetterSqlite3(locked);
    holder.pragma("locking_mode = EXCLUSIVE");
    holder.exec("BEGIN EXCLUSIVE");
    try {
      for (const args of [["query"], ["prune", "--before", "1d"]]) {
        const run = await runCli([...args, "--db", locked]);
        expect([run.code, run.stderr]).toStrictEqual([
          1,
          `error: audit store ${locked}: the database is locked by another process\n`,
        ]);
      }
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
  });

  it.each([
    [
      ["query", "--type", "nope"],
      "--type <kinds>",
      "Use one or more of authn.result, authz.decision, tuple.change, resource.mutation",
    ],
    [
      ["query", "--from", "yesterday"],
      "--from <time>",
      "Use an ISO time (2026-11-23, 2026-11-23T10:00:00Z) or a time ago",
    ],
    [["stats", "--to", "2026-13-45"], "--to <time>", "There is no month 13: use 01 to 12."],
    [["query", "--limit", "0"], "--limit <n>", "Use an integer from 1 to 1000."],
    [["query", "--limit", "ten"], "--limit <n>", "Use an integer from 1 to 1000."],
    [
      ["query", "--decision", "maybe"],
      "--decision <decision>",
      "Allowed choices are allowed, denied, no_rule, error.",
    ],
    [["query", "--operation", "UpdateProject"], "--operation <path>", "Use a full method path"],
    [["query", "--trace-id", "4BF9"], "--trace-id <id>", "Use 32 lowercase hex digits"],
    [["query", "--cursor", "abc"], "--cursor <cursor>", "Use the nextCursor a query printed."],
    [["prune", "--before", "soon"], "--before <time>", "Use an ISO time"],
    [["tail", "--interval-ms", "5"], "--interval-ms <ms>", "Use an integer from 50 to 60000."],
  ])("%j is exit 2, naming the option and what it accepts", async (args, option, accepted) => {
    const run = await runCli([...args, "--db", db]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.split("\n")).toHaveLength(2); // one line
    expect(run.stderr).toMatch(
      new RegExp(`^error: option '${option.replace(/[-<>]/g, "\\$&")}' argument '.*' is invalid\\. `),
    );
    expect(run.stderr).toContain(accepted);
  });

  it.each([
    [["query", "--success", "--failure"], "error: option '--success' cannot be used with option '--failure'"],
    [["query", "--json", "--ndjson"], "error: option '--json' cannot be used with option '--ndjson'"],
    [["query", "--from", "2d", "--to", "3d"], "error: option '--from <time>' must be before --to"],
    [
      ["stats", "--from", "2026-11-21", "--to", "2026-11-21"],
      "error: option '--from <time>' must be before --to",
    ],
    [["prune"], "error: required option '--before <time>' not specified"],
    [["query", "--frob"], "error: unknown option '--frob'"],
    [["frob"], "error: unknown command 'frob'"],
    [
      ["demo", "--openfga-url", "http://127.0.0.1:1"],
      "error: option '--openfga-url <url>' needs --openfga-store <id>",
    ],
  ])("%j is exit 2 with one clear line", async (args, message) => {
    const run = await runCli([...args, "--db", db]);
    expect([run.code, run.stderr.split("\n")[0]?.slice(0, message.length)]).toStrictEqual([2, message]);
  });

  it.each(COMMANDS)("%s --help exits 0 and shows usage and examples", async (command) => {
    const run = await runCli([command, "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: grpc-audit ${command} [options]`);
    expect(run.stdout).toContain("--db <path>");
    expect(run.stdout).toContain("Examples:\n  $ grpc-audit");
  });

  it("--help lists every command", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    for (const command of COMMANDS) expect(run.stdout).toMatch(new RegExp(`\\n  ${command} `));
    expect(run.stdout).toContain("Every command but ingest reads --db");
  });

  it.each(["verify", "ui", "ingest"])(
    "%s --help shows the store option the top-level help names",
    async (command) => {
      const run = await runCli([command, "--help"]);
      expect(run.stdout).toContain(command === "ingest" ? "--to <" : "--db <path>");
      if (command === "ingest") expect(run.stdout).not.toContain("--db");
    },
  );
});
