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

// Reviews R129, R131: a password holding "#", "/", "?" or a space, not percent-encoded, splits the URL
// there: "p#ss…@host:5432" made "p" the port ("has a port that is not a number", though the URL shown
// has a numeric one), a space read as "a password pair after a ';' or '&'", and "pre@Tail#9@host" took
// "Tail", part of the password, for the host: shown in the error and looked up in DNS. The error says
// to encode it, and shows no part of the password.
const HINT =
  'if its user name or password holds "#", "/", "?" or a space, percent-encode it (%23, %2F, %3F, %20) or give the password in PGPASSWORD';
it.each([
  ["#", `postgres://audit:p#s${SECRET}@127.0.0.1:5432/audit`, 'has an "@" after its host'],
  ["/", `postgres://audit:p/s${SECRET}@127.0.0.1:5432/audit`, 'has an "@" after its host'],
  ["?", `postgres://audit:p?s${SECRET}@127.0.0.1:5432/audit`, 'has an "@" after its host'],
  ["@ then #", `postgres://audit:pre@Tail${SECRET}#9@127.0.0.1:5432/audit`, 'has an "@" after its host'],
  ["@ then /", `postgres://audit:pre@Tail${SECRET}/9@127.0.0.1:5432/audit`, 'has an "@" after its host'],
  [
    "a space",
    `postgres://audit:p s${SECRET}@127.0.0.1:5432/audit`,
    "has a space in its user name or password",
  ],
])("a password holding %s unencoded: the usage error says to percent-encode it", async (_, url, problem) => {
  const run = await runCli(["query", "--db", url], { cwd: tempDir() });
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(new RegExp(`^error: the store \\S.* ${problem}; `));
  expect(run.stderr.endsWith(`${HINT}\n`)).toBe(true);
  expect(run.stdout + run.stderr).not.toContain(SECRET);
  expect(run.stdout + run.stderr).not.toContain("Tail");
});
