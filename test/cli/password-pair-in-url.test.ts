// Review R115 (MEDIUM): a store value that starts as a URL and holds a password after a ";" or "&"
// (a JDBC or SQL Server URL: `jdbc:sqlserver://db;user=sa;password=…`) was taken for a SQLite file
// name: `query --db` (or GRPC_AUDIT_DB) printed it, password and all, in "no audit database at …"
// (exit 1), `ingest --to` and `demo --db` created a file so named and printed it. `--from` printed such
// a value in its usage error. Each is a usage error (exit 2) that shows no part of the password.
// Review R115 (LOW): a postgres:// URL with an unclosed IPv6 bracket was said to have "a port that is
// not a number", and one with port 0 was taken and failed only when connecting (exit 1).
// `ingest` runs against a real nats-server, with a stream to ingest from.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/index.js";
import { type CliRun, runCli, tempDir } from "./helpers.js";
import { runToEnd, useIngestStream } from "./refused-store-run.js";

const SECRET = "S3cretPWr115";
const REFUSED =
  "error: the store <value with credentials hidden> looks like a URL, but only postgres:// and postgresql:// URLs name a store (no space or quotes around them); write a SQLite file as ./<name>\n";
const CREDENTIALS_IN_FROM =
  "error: option '--from <url>' must not hold credentials (every local user sees them in the process list): use --user and GRPC_AUDIT_BROKER_PASSWORD\n";

const STORES = [
  `jdbc:sqlserver://db:1433;databaseName=audit;user=sa;password=${SECRET}`,
  `sqlserver://db;user=sa;password=${SECRET}`,
  // No "/" in it: a file of that name could be created in the working folder.
  `sqlserver:db;User=sa;PWD = ${SECRET}`,
  `jdbc:sqlserver://db&Passwd=${SECRET}`,
];

const natsUrl = useIngestStream();

function expectRefused(run: CliRun, cwd: string, refused = REFUSED): void {
  expect(run.stdout + run.stderr).not.toContain(SECRET);
  expect([run.code, run.stdout, run.stderr]).toStrictEqual([2, "", refused]);
  expect(readdirSync(cwd)).toStrictEqual([]);
}

describe.each(STORES)("a URL with a password pair as the store (%s)", (value) => {
  it.each([
    ["query --db", ["query", "--db", value]],
    ["verify --db=", ["verify", `--db=${value}`]],
    ["tail --db", ["tail", "--db", value]],
    ["ui --db", ["ui", "--db", value]],
    ["demo --db", ["demo", "--db", value]],
  ])("%s is a usage error that hides it and creates nothing", async (_, args) => {
    const cwd = tempDir();
    expectRefused(await runToEnd(args, cwd), cwd);
  });

  it.each(["stats", "prune"])("%s with GRPC_AUDIT_DB set to it is a usage error", async (command) => {
    const cwd = tempDir();
    const args = command === "prune" ? [command, "--before", "2026-01-01T00:00:00Z"] : [command];
    expectRefused(await runToEnd(args, cwd, { GRPC_AUDIT_DB: value }), cwd);
  });

  it("ingest --to is refused before anything is opened or created", async () => {
    const cwd = tempDir();
    const args = ["ingest", "--from", natsUrl(), "--stream", "S", "--consumer", "c", "--to", value];
    expectRefused(await runToEnd(args, cwd), cwd);
  });
});

describe("a broker URL with a password pair as --from", () => {
  it.each([
    ["NATS", () => [`${natsUrl()};user=ingest;password=${SECRET}`, "--stream", "S", "--consumer", "c"]],
    ["Kafka", () => [`kafka://127.0.0.1:9092;user=sa;Password = ${SECRET}`, "--topic", "t", "--group", "g"]],
  ])("%s is a usage error that hides it", async (_, fromAndFlags) => {
    const cwd = tempDir();
    const run = await runToEnd(["ingest", "--from", ...fromAndFlags(), "--to", "x.db"], cwd);
    expectRefused(run, cwd, CREDENTIALS_IN_FROM);
  });
});

describe("a SQLite file named with 'password'", () => {
  it("is a store unless a ';' and 'password=' make its name a password pair", async () => {
    const cwd = tempDir();
    const names = ["./password-audit.db", "sqlite:password-audit.db", "audit;password.db"];
    for (const name of names) openAuditStore({ path: join(cwd, name) }).close();
    for (const name of names) {
      const run = await runCli(["stats", "--db", name], { cwd });
      expect([name, run.code, run.stderr]).toStrictEqual([name, 0, ""]);
    }
    const paired = await runCli(["stats", "--db", `sqlite:audit;password=${SECRET}.db`], { cwd });
    expect([paired.code, paired.stdout, paired.stderr]).toStrictEqual([2, "", REFUSED]);
  });
});

describe("a postgres:// URL that cannot name a store", () => {
  it.each([
    [
      "an unclosed IPv6 bracket",
      `postgres://audit:${SECRET}@[::1/audit`,
      'error: the store postgres://…@[::1/audit has an IPv6 host with no closing "]" (postgres://user@[::1]:5432/db)\n',
    ],
    [
      "port 0",
      `postgres://audit:${SECRET}@127.0.0.1:0/x`,
      "error: the store postgres://…@127.0.0.1:0/x has port 0, below 1\n",
    ],
    [
      // Review R119 (LOW): named with the password, in the connection error (exit 1).
      "a password pair after a ;",
      `postgres://audit@127.0.0.1:1/x;password=${SECRET}`,
      'error: the store <value with credentials hidden> holds a password pair after a ";" or "&": give it as postgres://user:password@host/db or in PGPASSWORD\n',
    ],
    [
      // Was refused as "holds a password pair": an "@" in a query value hides where the password ends.
      "an @ in a query value",
      `postgres://audit:${SECRET}@127.0.0.1:1/x?application_name=a@b`,
      'error: the store <value with credentials hidden> has an "@" in its query: percent-encode it there (%40)\n',
    ],
  ])("with %s is a usage error naming it", async (_, value, refused) => {
    for (const args of [
      ["query", "--db", value],
      ["ingest", "--from", natsUrl(), "--stream", "S", "--consumer", "c", "--to", value],
    ]) {
      const cwd = tempDir();
      expectRefused(await runToEnd(args, cwd), cwd, refused);
    }
  });
});
