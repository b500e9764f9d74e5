// Options the CLI took and then misused (review R90): a demo --log that is a file of its --db store, a
// SQLite store given to `verify --log`, and an OpenFGA id the SDK refuses only once the demo has started.
import { execFileSync } from "node:child_process";
import { createWriteStream, linkSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, seedEvents, tempDir } from "./helpers.js";

beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

const SAME_FILE = "the demo would write its pino log into the SQLite audit store; give --log another path\n";

describe.concurrent("grpc-audit demo --log naming a file of the --db store", () => {
  it("refuses --log equal to --db, exit 2, and creates nothing", async () => {
    const dir = tempDir();
    const run = await runCli(["demo", "--db", "n7.db", "--log", "n7.db"], { cwd: dir });
    expect(run).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: `error: option '--log <path>' names n7.db, the same file as --db: ${SAME_FILE}`,
    });
    expect(readdirSync(dir)).toStrictEqual([]);
  });

  it("compares resolved paths, and refuses the store's -wal, -shm and -journal, --keep or not", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "sub"));
    const cases = [
      [
        ["--db", "n7.db", "--log", join(dir, "n7.db")],
        `${join(dir, "n7.db")}, the same file as --db (n7.db)`,
      ],
      [["--db", "n7.db", "--log", "sub/../n7.db", "--keep"], "sub/../n7.db, the same file as --db (n7.db)"],
      [["--db", "n7.db", "--log", "./n7.db-wal"], "./n7.db-wal, the write-ahead log of --db (n7.db)"],
      [
        ["--db", "n7.db", "--log", "n7.db-shm", "--keep"],
        "n7.db-shm, the shared-memory file of --db (n7.db)",
      ],
      [["--db", "n7.db", "--log", "n7.db-journal"], "n7.db-journal, the rollback journal of --db (n7.db)"],
    ] as const;
    for (const [args, names] of cases) {
      const run = await runCli(["demo", ...args], { cwd: dir });
      expect(run).toStrictEqual({
        code: 2,
        stdout: "",
        stderr: `error: option '--log <path>' names ${names}: ${SAME_FILE}`,
      });
    }
    expect(readdirSync(dir)).toStrictEqual(["sub"]);
  });

  it("finds the same file through a symlinked folder, a symlink and a hard link (device and inode)", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "real"));
    symlinkSync(join(dir, "real"), join(dir, "alias"));
    // Neither exists: the folders are followed.
    const throughFolder = await runCli(["demo", "--db", "real/a.db", "--log", "alias/a.db"], { cwd: dir });
    expect([throughFolder.code, throughFolder.stderr]).toStrictEqual([
      2,
      `error: option '--log <path>' names alias/a.db, the same file as --db (real/a.db): ${SAME_FILE}`,
    ]);
    // Both exist (empty files count as new, so only this check refuses them).
    writeFileSync(join(dir, "real/b.db"), "");
    linkSync(join(dir, "real/b.db"), join(dir, "hard.ndjson"));
    symlinkSync(join(dir, "real/b.db"), join(dir, "soft.ndjson"));
    for (const log of ["hard.ndjson", "soft.ndjson"]) {
      const run = await runCli(["demo", "--db", "real/b.db", "--log", log, "--keep"], { cwd: dir });
      expect([run.code, run.stdout, run.stderr]).toStrictEqual([
        2,
        "",
        `error: option '--log <path>' names ${log}, the same file as --db (real/b.db): ${SAME_FILE}`,
      ]);
    }
    expect(readdirSync(join(dir, "real")).sort()).toStrictEqual(["b.db"]);
  });
});

describe.concurrent("grpc-audit verify --log given a SQLite database", () => {
  const message = (path: string) =>
    `error: cannot read ${path} as a log: it is a SQLite database; use --db to verify an audit store\n`;

  function seededStore(): { dir: string; db: string } {
    const dir = tempDir();
    const db = join(dir, "a.db");
    const store = openAuditStore({ path: db });
    try {
      store.insert(seedEvents(5));
    } finally {
      store.close();
    }
    return { dir, db };
  }

  it("stops with exit 1 naming the file, in text and --json", async () => {
    const { dir } = seededStore();
    for (const json of [[], ["--json"]]) {
      const run = await runCli(["verify", "--log", "a.db", ...json], { cwd: dir });
      expect(run).toStrictEqual({ code: 1, stdout: "", stderr: message("a.db") });
    }
  });

  it("recognises the database read through a named pipe", async () => {
    const { dir, db } = seededStore();
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    const run = runCli(["verify", "--log", fifo], { cwd: dir });
    // The command stops reading at the header: what it leaves unread is cut off (EPIPE), not an error here.
    const writer = createWriteStream(fifo).on("error", () => undefined);
    writer.end(execFileSync("cat", [db]));
    expect(await run).toStrictEqual({ code: 1, stdout: "", stderr: message(fifo) });
  });
});

describe.concurrent("grpc-audit demo --openfga-store and --openfga-model", () => {
  const rule =
    "is invalid. Use a ULID, as OpenFGA ids are: 26 characters of Crockford base32 (0-9 and A-Z without I, L, O, U; the first 0-7), such as 01ARZ3NDEKTSV4RRFFQ69G5FAV.\n";
  const fga = ["--openfga-url", "http://127.0.0.1:1"];

  it.each([
    ["--openfga-store", "s"],
    ["--openfga-store", "01JSTORE0000000000000000000"], // 27 characters
    ["--openfga-store", "01ARZ3NDEKTSV4RRFFQ69G5FAU"], // U is not Crockford base32
    ["--openfga-store", "81ARZ3NDEKTSV4RRFFQ69G5FAV"], // above 2^128
    ["--openfga-store", "01arz3ndektsv4rrffq69g5fav"], // the SDK takes upper case only
    ["--openfga-model", "not-a-ulid"],
  ])("refuses %s %s before anything starts, exit 2, naming the option", async (option, id) => {
    const dir = tempDir();
    const ids =
      option === "--openfga-store"
        ? ["--openfga-store", id]
        : ["--openfga-store", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--openfga-model", id];
    const run = await runCli(["demo", ...fga, ...ids], { cwd: dir });
    expect(run).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: `error: option '${option} <id>' argument '${id}' ${rule}`,
    });
    expect(readdirSync(dir)).toStrictEqual([]);
  });
});
