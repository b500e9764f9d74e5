/**
 * A kill -9 after a salvaged spool was renamed into place, before the salvage was reported. The new
 * spool said nothing of where it came from: the restart opened it as a healthy spool and reported
 * nothing (`spoolRecovery` all 0, no onError), the rows of the damaged page lost without a count. The
 * report is written into the new spool before its rename now, and the next start makes it (and drops
 * it, so only once). Killed earlier, between moving the damaged file aside and the rename, the restart
 * puts the salvaged spool in place and makes the same report, where it used to count the loss as
 * uncounted.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { type Compiled, compile } from "./compile.js";
import { numberedEvents, tempDir } from "./helpers.js";

const CHILD = "test/delivery/fixtures/salvage-kill-child.ts";
const ROWS = 600;

let compiled: Compiled;
let dir: ReturnType<typeof tempDir>;
let spoolPath: string;

beforeAll(() => {
  compiled = compile([CHILD]);
  dir = tempDir("spool-salvage-report");
});

afterAll(() => {
  compiled?.remove();
  dir?.remove();
});

beforeEach((context) => {
  const folder = path.join(dir.dir, String(context.task.id));
  fs.mkdirSync(folder);
  spoolPath = path.join(folder, "spool.db");
});

/** Leaves ROWS events in a closed spool, then overwrites the page that holds the middle one with garbage. */
async function leaveDamagedSpool(): Promise<void> {
  const sink = createFakeSink();
  sink.mode = "hold";
  const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, spool: { path: spoolPath } });
  for (const event of numberedEvents(ROWS)) emitter.emit(event);
  expect(await emitter.close({ timeoutMs: 20 })).toMatchObject({ spooled: ROWS });
  const file = fs.readFileSync(spoolPath);
  const pageSize = file.readUInt16BE(16);
  const page = Math.floor(file.indexOf("e-300") / pageSize);
  file.fill(0xab, page * pageSize, (page + 1) * pageSize);
  fs.writeFileSync(spoolPath, file);
}

/** Runs the child on the damaged spool: it salvages it, and is killed once the new spool is renamed in. */
async function killAfterRename(): Promise<void> {
  const child = spawn(process.execPath, [compiled.file(CHILD), spoolPath], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  expect(await once(child, "exit")).toStrictEqual([null, "SIGKILL"]);
  expect(output).toBe(""); // killed before the constructor returned
  expect(movedAside()).toHaveLength(1);
  expect(fs.readdirSync(path.dirname(spoolPath)).filter((name) => name.includes(".salvage"))).toStrictEqual(
    [],
  );
}

/** The names of the damaged files moved aside (their -wal and -shm left out). */
function movedAside(): string[] {
  const names = fs.readdirSync(path.dirname(spoolPath));
  return names.filter((name) => /\.corrupt-[\dT-]+Z(-\d+)?$/.test(name));
}

/** Opens an emitter on the spool, replays it to the end, closes it; returns its stats and reports. */
async function restart() {
  const sink = createFakeSink();
  const errors: string[] = [];
  const emitter = createDeliveryEmitter({
    sink,
    maxBatchEvents: 1000,
    spool: { path: spoolPath },
    onError: (error) => errors.push(error.message),
  });
  try {
    await until(() => emitter.stats().spoolEvents === 0);
    return { stats: emitter.stats(), received: sink.receivedIds(), errors };
  } finally {
    await emitter.close({ timeoutMs: 1000 });
  }
}

/** What the restart must count: every row delivered, or lost to the damaged page, once. */
function expectLossCounted(result: Awaited<ReturnType<typeof restart>>): void {
  const { stats, received } = result;
  const delivered = new Set(received).size;
  expect(stats.delivered).toBe(delivered);
  const lost = ROWS - delivered;
  expect(lost).toBeGreaterThan(1); // the rows of the garbage page
  expect(stats).toMatchObject({
    dropped: { spool_damaged: lost },
    spoolRecovery: { movedAside: 1, recovered: delivered, lost, uncounted: 0 },
  });
}

/** The report of the salvage, made by the restart: `preamble`, then what the killed process wrote. */
function report(preamble: string, lost: number): string {
  const [aside] = movedAside();
  return (
    `fake: spool ${spoolPath}: ${preamble}the file is damaged (database disk image is malformed); moved it ` +
    `aside to ${path.dirname(spoolPath)}/${aside} and started a new spool with the ${ROWS - lost} rows that ` +
    `could be read; ${lost} rows could not be read and are lost`
  );
}

describe("a kill -9 between renaming a salvaged spool in and reporting the salvage", () => {
  it("leaves the report to the restart, which makes it once: the loss counted and reported", async () => {
    await leaveDamagedSpool();
    await killAfterRename();

    const first = await restart();
    expectLossCounted(first);
    expect(first.errors).toStrictEqual([
      report(
        "the last process stopped before it reported the file it replaced; its report: ",
        first.stats.spoolRecovery.lost,
      ),
    ]);

    const second = await restart();
    expect(second.errors).toStrictEqual([]);
    expect(second.stats.spoolRecovery).toStrictEqual({ movedAside: 0, recovered: 0, lost: 0, uncounted: 0 });
  });

  it("killed before the rename, the restart puts the salvaged spool in place and makes the report", async () => {
    await leaveDamagedSpool();
    await killAfterRename();
    // Back to the state just before the rename: the salvaged spool (not in WAL mode) beside the path.
    const db = new Database(spoolPath);
    expect(db.pragma("journal_mode = DELETE", { simple: true })).toBe("delete");
    db.close();
    fs.renameSync(spoolPath, `${spoolPath}.salvage`);
    fs.rmSync(`${spoolPath}-shm`, { force: true });

    const result = await restart();
    expectLossCounted(result);
    expect(result.errors).toStrictEqual([
      report(
        `found ${spoolPath}.salvage, a spool salvaged from a damaged file by a process that stopped ` +
          "before it put it in place: put it in place; its report: ",
        result.stats.spoolRecovery.lost,
      ),
    ]);
    expect(fs.existsSync(`${spoolPath}.salvage`)).toBe(false);
  });
});
