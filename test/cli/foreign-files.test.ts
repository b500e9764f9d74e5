// The real command given files that are not audit stores: exit 1 naming the file and the reason, and
// the file left exactly as it was (prune opens its store writable, which would have made one in it).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../src/store/schema.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

const COMMANDS = [
  ["query"],
  ["stats"],
  ["prune", "--before", "1d"],
  ["prune", "--before", "1d", "--dry-run"],
].map((args) => [args.join(" "), args] as const);

/** The commands that only read a store; `ui` would serve it until stopped. */
const READERS = [["tail"], ["verify"], ["ui", "--port", "0"]].map((args) => [args.join(" "), args] as const);

/** A SQLite file of another application, with the `user_version` it set. */
function appDatabase(userVersion: number): string {
  const path = join(tempDir(), "app.db");
  const db = new BetterSqlite3(path);
  db.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO accounts VALUES (1, 'a')");
  db.pragma(`user_version = ${userVersion}`);
  db.close();
  return path;
}

describe.concurrent("grpc-audit given a file that is not an audit store", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  it.each(COMMANDS)("%s on an empty file: exit 1, and the file stays empty", async (_name, args) => {
    const empty = join(tempDir(), "empty.db");
    writeFileSync(empty, "");
    const run = await runCli([...args, "--db", empty]);
    expect(run).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: `error: audit store ${empty}: not an audit store (no schema)\n`,
    });
    expect(readFileSync(empty).length).toBe(0);
    expect(existsSync(`${empty}-wal`)).toBe(false);
  });

  it.each(COMMANDS)(
    "%s on another application's database: exit 1, and nothing written into it",
    async (_name, args) => {
      const app = appDatabase(0);
      const before = readFileSync(app);
      const run = await runCli([...args, "--db", app]);
      expect(run).toStrictEqual({
        code: 1,
        stdout: "",
        stderr: `error: audit store ${app}: not an audit store (no schema)\n`,
      });
      expect(readFileSync(app).equals(before)).toBe(true);
    },
  );

  it.each(COMMANDS)(
    "%s on a database whose user_version names no events table: exit 1",
    async (_name, args) => {
      const app = appDatabase(3);
      const before = readFileSync(app);
      const run = await runCli([...args, "--db", app]);
      expect(run).toStrictEqual({
        code: 1,
        stdout: "",
        stderr: `error: audit store ${app}: not an audit store (schema version 3 but no events table)\n`,
      });
      expect(readFileSync(app).equals(before)).toBe(true);
    },
  );

  it.each(COMMANDS)("%s on a store of a newer schema: exit 1, naming the file", async (_name, args) => {
    const newer = join(tempDir(), "newer.db");
    const db = new BetterSqlite3(newer);
    db.exec("CREATE TABLE events (seq INTEGER PRIMARY KEY)");
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const run = await runCli([...args, "--db", newer]);
    expect(run).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: `error: audit store ${newer}: the database has schema version ${SCHEMA_VERSION + 1}, newer than this library's ${SCHEMA_VERSION}; upgrade grpc-audit\n`,
    });
  });

  it.each([...COMMANDS, ...READERS])("%s on a folder: exit 1, saying it is a folder", async (_name, args) => {
    const folder = join(tempDir(), "audit.db");
    mkdirSync(folder);
    const run = await runCli([...args, "--db", folder]);
    expect(run).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: `error: audit store ${folder}: a folder, not a database file\n`,
    });
  });

  it.each([...COMMANDS, ...READERS])("%s on a device: exit 1, saying it is a device", async (_name, args) => {
    const run = await runCli([...args, "--db", "/dev/null"]);
    expect(run).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: "error: audit store /dev/null: a device, not a database file\n",
    });
  });

  it.each([...COMMANDS, ...READERS])(
    "%s on a named pipe: exit 1 at once, saying it is a named pipe",
    async (_name, args) => {
      const fifo = join(tempDir(), "audit.db");
      execFileSync("mkfifo", [fifo]);
      const run = await runCli([...args, "--db", fifo]);
      expect(run).toStrictEqual({
        code: 1,
        stdout: "",
        stderr: `error: audit store ${fifo}: a named pipe, not a database file\n`,
      });
    },
  );

  it("verify --log on a folder: exit 1, saying it is a folder", async () => {
    const folder = tempDir();
    const run = await runCli(["verify", "--log", folder]);
    expect(run).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: `error: cannot read ${folder}: a folder, not a log file\n`,
    });
  });
});
