import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/index.js";
import { type Compiled, compile } from "./compile.js";
import { tempDir } from "./helpers.js";

// Real child processes that end without close(): main returning, and process.exit() in a signal
// handler. The sink is a real SQLite audit store, the spool a real file.
const CHILD = "test/delivery/fixtures/exit-child.ts";
const IDS = Array.from({ length: 100 }, (_, i) => `e-${String(i + 1).padStart(3, "0")}`);

let compiled: Compiled;
let dir: ReturnType<typeof tempDir>;

beforeAll(() => {
  compiled = compile([CHILD]);
  dir = tempDir("exit");
});

afterAll(() => {
  compiled?.remove();
  dir?.remove();
});

/** Runs the child to its end; `signal` is sent once it printed "ready". Returns its JSON lines. */
async function runChild(args: readonly string[], signal?: NodeJS.Signals): Promise<unknown[]> {
  const child = spawn(process.execPath, [compiled.file(CHILD), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: string[] = [];
  let rest = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    for (const line of parts) {
      if (line === "ready" && signal !== undefined) child.kill(signal);
      else lines.push(line);
    }
  });
  const [code] = await once(child, "exit");
  expect(code).toBe(0);
  return lines.map((line) => JSON.parse(line) as unknown);
}

function spoolRows(spoolPath: string): string[] {
  const db = new Database(spoolPath, { readonly: true });
  try {
    return db.prepare("SELECT event_id FROM spool ORDER BY id").pluck().all() as string[];
  } finally {
    db.close();
  }
}

function storedIds(storePath: string): string[] {
  const store = openAuditStore({ path: storePath });
  try {
    return store
      .query({}, { limit: 1000 })
      .events.map((event) => event.eventId)
      .reverse();
  } finally {
    store.close();
  }
}

/** What the child reports when all of its 100 events went to the spool at exit, none delivered. */
const ALL_SPOOLED = {
  stats: {
    accepted: 100,
    delivered: 0,
    spooled: 100,
    dropped: {},
    droppedAfterAccept: 0,
    queueEvents: 0,
    spoolEvents: 100,
  },
  heard: [],
};

describe("a process that ends without close()", () => {
  it("commits the queued events to the spool when main returns, and the next process on it delivers them", async () => {
    const storePath = path.join(dir.dir, "return-store.db");
    const spoolPath = path.join(dir.dir, "return-spool.db");

    const first = await runChild(["return", storePath, spoolPath]);
    expect(first).toStrictEqual([ALL_SPOOLED]);
    expect(spoolRows(spoolPath)).toStrictEqual(IDS);
    expect(storedIds(storePath)).toStrictEqual([]);

    // A restarted process on the same spool replays them into the store, in order.
    const second = await runChild(["replay", storePath, spoolPath]);
    expect(second).toStrictEqual([
      { close: { delivered: 100, spooled: 0, dropped: 0, pending: 0 } },
      {
        stats: {
          accepted: 0,
          delivered: 100,
          spooled: 0,
          dropped: {},
          droppedAfterAccept: 0,
          queueEvents: 0,
          spoolEvents: 0,
        },
        heard: [],
      },
    ]);
    expect(spoolRows(spoolPath)).toStrictEqual([]);
    expect(storedIds(storePath)).toStrictEqual(IDS);
  });

  // on-exit-leak-free 2.1.2 (pino's exit-hook library) removed a collected object's hook with
  // splice(index, index + 1), taking the hooks registered after it too: this emitter's was lost.
  it("commits them to the spool though a pino destination made before it was collected unended", async () => {
    const storePath = path.join(dir.dir, "sibling-store.db");
    const spoolPath = path.join(dir.dir, "sibling-spool.db");

    const lines = await runChild(["collected-sibling", storePath, spoolPath]);
    expect(lines).toStrictEqual([{ siblings: 1, siblingCollected: true }, ALL_SPOOLED]);
    expect(spoolRows(spoolPath)).toStrictEqual(IDS);
  });

  it("commits them to the spool when a signal handler calls process.exit()", async () => {
    const storePath = path.join(dir.dir, "exit-store.db");
    const spoolPath = path.join(dir.dir, "exit-spool.db");

    const lines = await runChild(["exit", storePath, spoolPath], "SIGTERM");
    expect(lines).toStrictEqual([ALL_SPOOLED]);
    expect(spoolRows(spoolPath)).toStrictEqual(IDS);
  });

  it("commits a batch the sink is writing at exit to the spool, and the next process delivers it", async () => {
    const storePath = path.join(dir.dir, "in-flight-store.db");
    const spoolPath = path.join(dir.dir, "in-flight-spool.db");

    const lines = await runChild(["in-flight", storePath, spoolPath], "SIGTERM");
    expect(lines).toStrictEqual([ALL_SPOOLED]);
    expect(spoolRows(spoolPath)).toStrictEqual(IDS);

    await runChild(["replay", storePath, spoolPath]);
    expect(spoolRows(spoolPath)).toStrictEqual([]);
    expect(storedIds(storePath)).toStrictEqual(IDS);
  });

  it('drops as "exit" what the spool has no room for at exit, and reports that once', async () => {
    const storePath = path.join(dir.dir, "full-store.db");
    const spoolPath = path.join(dir.dir, "full-spool.db");

    // Room for some of the 100 events, not all.
    const [line] = await runChild(["exit", storePath, spoolPath, "8192"], "SIGTERM");
    const { stats, heard } = line as { stats: { spooled: number }; heard: string[] };
    const kept = stats.spooled;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(100);
    expect(line).toStrictEqual({
      stats: {
        accepted: 100,
        delivered: 0,
        spooled: kept,
        dropped: { exit: 100 - kept },
        droppedAfterAccept: 100 - kept,
        queueEvents: 0,
        spoolEvents: kept,
      },
      heard: [
        `exit-child: dropped ${100 - kept} events (exit): the process exited without close() before the event was delivered or spooled`,
      ],
    });
    expect(heard).toHaveLength(1);
    expect(spoolRows(spoolPath)).toStrictEqual(IDS.slice(0, kept));
  });

  it('drops them as "exit" without a spool, and reports that once to onError', async () => {
    const storePath = path.join(dir.dir, "nospool-store.db");

    const lines = await runChild(["exit", storePath, "-"], "SIGTERM");
    expect(lines).toStrictEqual([
      {
        stats: {
          accepted: 100,
          delivered: 0,
          spooled: 0,
          dropped: { exit: 100 },
          droppedAfterAccept: 100,
          queueEvents: 0,
          spoolEvents: 0,
        },
        heard: [
          "exit-child: dropped 100 events (exit): the process exited without close() before the event was delivered or spooled",
        ],
      },
    ]);
    expect(storedIds(storePath)).toStrictEqual([]);
  });
});
