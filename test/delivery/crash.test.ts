import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { type Compiled, compile } from "./compile.js";
import { tempDir } from "./helpers.js";

const CHILD = "test/delivery/fixtures/spool-child.ts";
const BURST_CHILD = "test/delivery/fixtures/burst-child.ts";

let compiled: Compiled;
let dir: ReturnType<typeof tempDir>;

beforeAll(() => {
  compiled = compile([CHILD, BURST_CHILD]);
  dir = tempDir("crash");
});

afterAll(() => {
  compiled?.remove();
  dir?.remove();
});

/** What the child printed, parsed. */
interface ChildLog {
  committed: number;
  acked: Set<string>;
  problems: string[];
}

function follow(child: ChildProcess): ChildLog {
  const log: ChildLog = { committed: 0, acked: new Set(), problems: [] };
  let rest = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      const [word, value = ""] = line.split(" ", 2);
      if (word === "committed") log.committed = Math.max(log.committed, Number(value));
      else if (word === "acked") for (const eventId of value.split(",")) log.acked.add(eventId);
      else if (word !== "ready") log.problems.push(line);
    }
  });
  return log;
}

describe("write-ahead mode and a crash", () => {
  it("delivers, after a kill -9 mid-burst, every event that was committed before the kill", async () => {
    const spoolPath = path.join(dir.dir, "spool.db");
    const child = spawn(process.execPath, [compiled.file(CHILD), spoolPath], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const log = follow(child);
    const exited = once(child, "exit");

    await until(() => log.committed >= 5000 && log.acked.size >= 500, {
      message: () => `child committed ${log.committed}, acked ${log.acked.size}`,
    });
    child.kill("SIGKILL");
    const [code, signal] = await exited;
    expect([code, signal]).toStrictEqual([null, "SIGKILL"]);
    expect(log.problems).toStrictEqual([]);

    // What the spool file itself holds after the crash, read straight from SQLite.
    const db = new Database(spoolPath, { readonly: true });
    const spooled = db.prepare("SELECT event_id FROM spool ORDER BY id").pluck().all() as string[];
    db.close();
    const committed = Array.from({ length: log.committed }, (_, i) => `k-${String(i + 1).padStart(6, "0")}`);
    const notAcked = committed.filter((eventId) => !log.acked.has(eventId));
    expect(notAcked.length).toBeGreaterThan(0); // the kill came mid-burst, with work left
    const inFile = new Set(spooled);
    expect(notAcked.filter((eventId) => !inFile.has(eventId))).toStrictEqual([]);

    // A new emitter on the same file replays it, oldest first.
    const sink = createFakeSink();
    const emitter = createDeliveryEmitter({ sink, spool: { path: spoolPath } });
    await until(() => emitter.stats().spoolEvents === 0 && emitter.stats().delivered === spooled.length, {
      message: () => `replayed ${emitter.stats().delivered} of ${spooled.length}`,
    });
    await emitter.close();

    const replayed = sink.receivedIds();
    expect(replayed).toStrictEqual(spooled);
    const delivered = new Set([...log.acked, ...replayed]);
    expect(committed.filter((eventId) => !delivered.has(eventId))).toStrictEqual([]);
  });
});

describe("write-ahead mode, busy bursts and a crash", () => {
  /**
   * Runs the burst child until it kills itself after accepting event `killAt`; returns the ids the
   * spool file holds (its sink never answered, so that is every committed event) and what it printed.
   */
  async function burstUntilKilled(
    name: string,
    burst: number,
    killAt: number,
    maxUncommittedEvents?: number,
  ): Promise<{ spooled: string[]; output: string }> {
    const spoolPath = path.join(dir.dir, `${name}.db`);
    const args = [compiled.file(BURST_CHILD), spoolPath, String(burst), String(killAt)];
    if (maxUncommittedEvents !== undefined) args.push(String(maxUncommittedEvents));
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    const [code, signal] = await once(child, "exit");
    expect([code, signal]).toStrictEqual([null, "SIGKILL"]);
    const db = new Database(spoolPath, { readonly: true });
    const spooled = db.prepare("SELECT event_id FROM spool ORDER BY id").pluck().all() as string[];
    db.close();
    return { spooled, output };
  }

  const eventIds = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => `b-${String(from + i).padStart(6, "0")}`);

  it("loses at most maxUncommittedEvents (default 1000) when killed mid-burst of 5,000 synchronous emits", async () => {
    const killAt = 12_345; // in the third burst: 2,345 of its events accepted without the loop turning
    const { spooled, output } = await burstUntilKilled("default", 5000, killAt);

    expect(output).toBe("");
    // Committed events are a prefix of the accepted ones; what is lost is the tail after the last commit.
    const committed = spooled.length;
    expect(spooled).toStrictEqual(eventIds(1, committed));
    expect(killAt - committed).toBeLessThanOrEqual(1000);
  });

  it("keeps the window at the configured count: 100 of 2,000-event bursts", async () => {
    const killAt = 7_777;
    const { spooled, output } = await burstUntilKilled("max-100", 2000, killAt, 100);

    expect(output).toBe("");
    const committed = spooled.length;
    expect(spooled).toStrictEqual(eventIds(1, committed));
    expect(killAt - committed).toBeLessThanOrEqual(100);
  });
});
