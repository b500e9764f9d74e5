// A process killed (kill -9) while it migrates a store of schema version 1 must leave the file either
// as it was or fully migrated: never at a newer version with the columns added since left empty
// (which verify reports as edited rows, stats as no decisions, and query --request-id as nothing).
import { createHash } from "node:crypto";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { SCHEMA_VERSION } from "../../src/store/schema.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { numberedEvent, tempDir } from "../delivery/helpers.js";
import { writeOldStore } from "../helpers/old-store.js";
import { OPEN_CHILD, startOpener } from "./processes.js";

const EVENTS = 20_000;

let compiled: Compiled;
let dir: ReturnType<typeof tempDir>;
let base: string;

beforeAll(() => {
  compiled = compile([OPEN_CHILD]);
  dir = tempDir("migration-crash");
  base = path.join(dir.dir, "v1.db");
  const events = Array.from({ length: EVENTS }, (_, i) => ({
    ...numberedEvent(i + 1, i % 2 === 0 ? "authz" : "resourceMutation"),
    requestId: `req-${i}`,
  }));
  const db = writeOldStore(base, 1, events);
  db.pragma("journal_mode = WAL"); // as version 1 of the library left its stores
  db.close();
});

afterAll(() => {
  compiled?.remove();
  dir?.remove();
});

/** The file's version, columns and a digest of every row, read straight from SQLite. */
function snapshot(file: string) {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const digest = createHash("sha256");
    for (const row of db.prepare("SELECT * FROM events ORDER BY seq").raw().iterate() as Iterable<
      unknown[]
    >) {
      for (const value of row)
        digest.update(value instanceof Uint8Array ? value : String(value)).update("\0");
    }
    const columns = (db.pragma("table_info(events)") as { name: string }[]).map((c) => c.name);
    return {
      version: Number(db.pragma("user_version", { simple: true })),
      columns,
      rows: digest.digest("hex"),
    };
  } finally {
    db.close();
  }
}

/** The file's version and how many rows have their added columns left empty, read straight from SQLite. */
function unfilled(file: string) {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const columns = new Set((db.pragma("table_info(events)") as { name: string }[]).map((c) => c.name));
    const count = (column: string, where: string) =>
      columns.has(column)
        ? db.prepare(`SELECT count(*) FROM events WHERE ${where}`).pluck().get()
        : "no column";
    return {
      version: Number(db.pragma("user_version", { simple: true })),
      decisions: count("decision", "event_type = 'authz.decision' AND decision = ''"),
      requestIds: count("request_id", "request_id = ''"),
    };
  } finally {
    db.close();
  }
}

/** How many rows `tail` (what verify reads) reports as edited: filter columns that do not match the event. */
function editedRows(store: AuditStore): number {
  let edited = 0;
  for (let after = 0; ; ) {
    const page = store.tail(after, 1000);
    edited += page.edited?.length ?? 0;
    if (page.lastSeq === after) return edited;
    after = page.lastSeq;
  }
}

const walSize = (file: string) => {
  try {
    return fs.statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
};

/**
 * Starts a child opening a copy of the version 1 store, and kills it once `killWhen` holds (polled
 * between turns of the event loop) or once it opened the store. Returns the copy and whether the
 * kill came before the open finished.
 */
async function openAndKill(name: string, killWhen: (file: string, sinceMs: number) => boolean) {
  const file = path.join(dir.dir, `${name}.db`);
  fs.copyFileSync(base, file);
  const opener = startOpener(compiled);
  await opener.ready;
  const answered = opener.open(file).then(() => true);
  let done = false;
  void answered.then(() => {
    done = true;
  });
  const start = Date.now();
  while (!done && !killWhen(file, Date.now() - start)) await new Promise((resolve) => setImmediate(resolve));
  const exited = once(opener.child, "exit");
  opener.child.kill("SIGKILL");
  await exited;
  return { file, killed: !done };
}

describe("a kill -9 during a schema migration", () => {
  it("leaves the store either untouched or fully migrated, at every kill point, and a reopen fills every column", async () => {
    const before = snapshot(base);
    expect(before.version).toBe(1);
    const killPoints: [string, (file: string, sinceMs: number) => boolean][] = [
      ["at-once", () => true],
      ["after-20ms", (_, ms) => ms >= 20],
      ["after-200ms", (_, ms) => ms >= 200],
      ["wal-started", (file) => walSize(file) > 0],
      ["wal-256k", (file) => walSize(file) > 256 * 1024],
      ["wal-2m", (file) => walSize(file) > 2 * 1024 * 1024],
      ["wal-8m", (file) => walSize(file) > 8 * 1024 * 1024],
    ];
    const outcomes: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const [name, killWhen] of killPoints) {
      const { file } = await openAndKill(name, killWhen);
      const after = snapshot(file);
      const killed = after.version === before.version ? { untouched: after } : { unfilled: unfilled(file) };
      // The next open (a restarted server) finds every event with its columns filled in.
      const store = openAuditStore({ path: file });
      const reopened = {
        edited: editedRows(store),
        decisions: store.stats().byDecision,
        byRequestId: store.query({ requestId: "req-4" }).events.map((e) => e.eventId),
      };
      store.close();
      outcomes[name] = { killed, reopened };
      expected[name] = {
        killed:
          "untouched" in killed
            ? { untouched: before }
            : { unfilled: { version: SCHEMA_VERSION, decisions: 0, requestIds: 0 } },
        reopened: { edited: 0, decisions: { denied: EVENTS / 2 }, byRequestId: [numberedEvent(5).eventId] },
      };
    }
    expect(outcomes).toStrictEqual(expected);
  }, 120_000); // seven migrations of a large store, each in a child process: slow on a loaded machine
});
