// Several processes open one store file at the same moment, as servers started together do: a new
// (absent) file, and a store of schema version 1 they all migrate. Each open must succeed.
import fs from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../src/store/schema.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { numberedEvents, tempDir } from "../delivery/helpers.js";
import { writeOldStore } from "../helpers/old-store.js";
import { OPEN_CHILD, type Opener, startOpener } from "./processes.js";

const PROCESSES = 4;
const ROUNDS = 6;

let compiled: Compiled;
let dir: ReturnType<typeof tempDir>;
let openers: Opener[];

beforeAll(async () => {
  compiled = compile([OPEN_CHILD]);
  dir = tempDir("open-race");
  openers = Array.from({ length: PROCESSES }, () => startOpener(compiled));
  await Promise.all(openers.map((o) => o.ready));
});

afterAll(async () => {
  await Promise.all(openers?.map((o) => o.stop()) ?? []);
  compiled?.remove();
  dir?.remove();
});

/** Every process opens `file` at once (each was idle, waiting on its stdin); their answers. */
const openAtOnce = (file: string) => Promise.all(openers.map((o) => o.open(file)));

/** The file's schema version, tables and row count, read straight from SQLite. */
function shape(file: string) {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return {
      version: db.pragma("user_version", { simple: true }),
      journalMode: db.pragma("journal_mode", { simple: true }),
      rows: db.prepare("SELECT count(*) FROM events").pluck().get(),
      missingDecisions: db
        .prepare("SELECT count(*) FROM events WHERE event_type = 'authz.decision' AND decision = ''")
        .pluck()
        .get(),
      missingRequestIds: db.prepare("SELECT count(*) FROM events WHERE request_id = ''").pluck().get(),
    };
  } finally {
    db.close();
  }
}

describe("processes opening one store at once", () => {
  it("all open a new file, which becomes one store", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const file = path.join(dir.dir, `new-${round}.db`);
      expect(await openAtOnce(file)).toStrictEqual(Array(PROCESSES).fill("opened"));
      expect(shape(file)).toStrictEqual({
        version: SCHEMA_VERSION,
        journalMode: "wal",
        rows: 0,
        missingDecisions: 0,
        missingRequestIds: 0,
      });
    }
  });

  it("all open a store of schema version 1, which is migrated once, with its new columns filled in", async () => {
    const events = numberedEvents(300, "authz").map((e, i) => ({ ...e, requestId: `req-${i}` }));
    const base = path.join(dir.dir, "v1.db");
    const db = writeOldStore(base, 1, events);
    db.pragma("journal_mode = WAL"); // as a store written by version 1 of the library is
    db.close();
    for (let round = 0; round < ROUNDS; round++) {
      const file = path.join(dir.dir, `v1-${round}.db`);
      fs.copyFileSync(base, file);
      expect(await openAtOnce(file)).toStrictEqual(Array(PROCESSES).fill("opened"));
      expect(shape(file)).toStrictEqual({
        version: SCHEMA_VERSION,
        journalMode: "wal",
        rows: 300,
        missingDecisions: 0,
        missingRequestIds: 0,
      });
    }
  });
});
