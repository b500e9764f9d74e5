// A store URL that is not postgres:// (`pg://…`, `postgres:user:pw@…` without the slashes) was taken
// for a SQLite file name and printed whole, password included, in "no audit database at …" (and
// `ingest --to` would have created a file by that name). It is a usage error, the password hidden.
import { readdirSync } from "node:fs";
import { beforeAll, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

const SECRET = "Zq9secretPW";

it.each([
  [
    "query --db pg://",
    ["query", "--db", `pg://fleet:${SECRET}@127.0.0.1:5432/audit`],
    "pg://…@127.0.0.1:5432/audit",
  ],
  [
    "stats --db postgres: without //",
    ["stats", "--db", `postgres:fleet:${SECRET}@db/audit`],
    "postgres:…@db/audit",
  ],
  [
    "ingest --to pg://",
    [
      "ingest",
      "--from",
      "nats://127.0.0.1:4222",
      "--stream",
      "S",
      "--consumer",
      "C",
      "--to",
      `pg://u:${SECRET}@db/a`,
    ],
    "pg://…@db/a",
  ],
])("%s is a usage error that hides the password and creates nothing", async (_, args, shown) => {
  const cwd = tempDir();
  const run = await runCli(args, { cwd });
  expect([run.code, run.stderr]).toStrictEqual([
    2,
    `error: the store ${shown} looks like a URL, but only postgres:// and postgresql:// URLs name a store (no space or quotes around them); write a SQLite file as ./<name>\n`,
  ]);
  expect(run.stdout + run.stderr).not.toContain(SECRET);
  expect(readdirSync(cwd)).toStrictEqual([]);
});

// Review R109: a postgres:// URL with a bad port was refused only once the store opened: exit 1,
// naming the library's `connectionString` option the user never typed.
it.each([
  [
    "query --db",
    ["query", "--db", `postgres://audit:${SECRET}@127.0.0.1:99999/audit`],
    "has port 99999, beyond 65535",
  ],
  [
    "prune --db",
    ["prune", "--before", "2026-01-01T00:00:00Z", "--db", `postgres://audit:${SECRET}@db:5x/a`],
    "has a port that is not a number",
  ],
  [
    "ingest --to",
    [
      "ingest",
      "--from",
      "nats://127.0.0.1:4222",
      "--stream",
      "S",
      "--consumer",
      "C",
      "--to",
      `postgresql://u:${SECRET}@db:70000/a`,
    ],
    "has port 70000, beyond 65535",
  ],
])(
  "%s with a postgres:// URL whose port is bad is a usage error naming the port",
  async (_, args, problem) => {
    const cwd = tempDir();
    const run = await runCli(args, { cwd });
    const shown = (args.find((a) => a.startsWith("postgres")) ?? "")
      .replace(`u:${SECRET}@`, "…@")
      .replace(`audit:${SECRET}@`, "…@");
    expect([run.code, run.stderr]).toStrictEqual([2, `error: the store ${shown} ${problem}\n`]);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
    expect(readdirSync(cwd)).toStrictEqual([]);
  },
);
