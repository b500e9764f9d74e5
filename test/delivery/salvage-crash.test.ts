/**
 * A kill -9 while a damaged spool is being salvaged. The new spool used to be made at the spool's path,
 * the damaged file moved aside first: after the crash the partial copy looked healthy, the file aside
 * was never read again, and the rows not yet copied were lost without a count. The new spool is made
 * beside it now and renamed into place once complete, so the restart finds the damaged file at the
 * path and salvages it again. Killed after the damaged file was moved aside, before the complete copy
 * was renamed in, the restart puts the copy in place.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { type Compiled, compile } from "./compile.js";
import { bytesWrittenBeside } from "./fixtures/bytes-beside.js";
import { numberedEvents, tempDir } from "./helpers.js";

const CHILD = "test/delivery/fixtures/salvage-child.ts";
/** Enough rows that the salvage takes a while: about 40 MB, two events to a page. */
const ROWS = 20_000;
const PADDING = "o".repeat(1500);

let compiled: Compiled;
let dir: ReturnType<typeof tempDir>;

beforeAll(() => {
  compiled = compile([CHILD]);
  dir = tempDir("salvage-crash");
});

afterAll(() => {
  compiled?.remove();
  dir?.remove();
});

/** Leaves `rows` events in a closed spool at `file`. */
async function leaveSpool(file: string, rows: number): Promise<void> {
  const sink = createFakeSink();
  sink.mode = "hold";
  const emitter = createDeliveryEmitter({
    sink,
    flushIntervalMs: 0,
    maxQueueEvents: rows + 10,
    maxQueueBytes: 512 * 1024 * 1024,
    spool: { path: file, synchronous: "normal" },
  });
  for (const event of numberedEvents(rows)) emitter.emit({ ...event, operation: PADDING });
  expect(await emitter.close({ timeoutMs: 20 })).toMatchObject({ spooled: rows });
}

/** Leaves ROWS events in a closed spool at `file`, then overwrites a page in its middle with garbage. */
async function leaveDamagedSpool(file: string): Promise<void> {
  await leaveSpool(file, ROWS);
  const fd = fs.openSync(file, "r+");
  try {
    const size = fs.fstatSync(fd).size;
    const pageSize = 4096;
    const page = Math.floor(size / pageSize / 2);
    fs.writeSync(fd, Buffer.alloc(pageSize, 0xab), 0, pageSize, page * pageSize);
  } finally {
    fs.closeSync(fd);
  }
}

describe("a kill -9 while a damaged spool is salvaged", () => {
  it("leaves every readable row to the restart: delivered, or counted as lost", async () => {
    const spoolPath = path.join(dir.dir, "spool.db");
    await leaveDamagedSpool(spoolPath);
    const damaged = fs.statSync(spoolPath).ino;

    // Killed once the new spool holds a few MB: the salvage has started, and is far from done. The
    // child kills itself there, between two of the salvage's transactions: killed from here once a
    // poll saw the bytes, it could finish the salvage first on a loaded machine (about 1 s more).
    const child = spawn(process.execPath, [compiled.file(CHILD), spoolPath, String(4 * 1024 * 1024)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    const exited = once(child, "exit");
    await until(() => child.exitCode !== null || child.signalCode !== null || output !== "", {
      message: () => `the child wrote ${bytesWrittenBeside(dir.dir, damaged)} bytes beside the spool`,
    });
    child.kill("SIGKILL"); // a child that finished the salvage after all (the test fails below)
    expect(await exited).toStrictEqual([null, "SIGKILL"]);
    expect(output).toBe(""); // killed mid-salvage, before the constructor returned
    expect(bytesWrittenBeside(dir.dir, damaged)).toBeGreaterThan(4 * 1024 * 1024);

    const sink = createFakeSink();
    const emitter = createDeliveryEmitter({
      sink,
      maxBatchEvents: 1000,
      spool: { path: spoolPath },
      onError: () => {},
    });
    try {
      await until(() => emitter.stats().spoolEvents === 0);
      const { delivered, spoolRecovery } = emitter.stats();
      const received = new Set(sink.receivedIds());
      expect(received.size).toBe(delivered);
      expect(spoolRecovery).toStrictEqual({
        movedAside: 1,
        recovered: delivered,
        lost: ROWS - delivered,
        uncounted: 0,
      });
      expect(spoolRecovery.lost).toBeGreaterThan(0); // the garbage page's rows
      // The partial copy the crash left beside the spool is gone.
      expect(fs.readdirSync(dir.dir).filter((name) => name.includes(".salvage"))).toStrictEqual([]);
    } finally {
      await emitter.close({ timeoutMs: 1000 });
    }
  });

  it.each([
    ["the spool's path", false],
    ["a symlink to the spool's path", true],
  ])("puts in place a salvaged spool the crash left beside an empty path, given %s", async (_, linked) => {
    // Killed after the damaged file was moved aside, before the complete copy was renamed in.
    const spoolPath = path.join(dir.dir, linked ? "linked-between.db" : "between.db");
    const configured = linked ? path.join(dir.dir, "link-to-between.db") : spoolPath;
    if (linked) fs.symlinkSync(spoolPath, configured);
    await leaveSpool(`${spoolPath}.salvage`, 50);
    fs.writeFileSync(`${spoolPath}.corrupt-2026-12-06T09-00-00-000Z`, "the damaged file");

    const sink = createFakeSink();
    const errors: string[] = [];
    const emitter = createDeliveryEmitter({
      sink,
      spool: { path: configured },
      onError: (error) => errors.push(error.message),
    });
    try {
      await until(() => emitter.stats().spoolEvents === 0 && sink.receivedIds().length === 50);
      expect(new Set(sink.receivedIds()).size).toBe(50);
      expect(emitter.stats().spoolRecovery).toStrictEqual({
        movedAside: 1,
        recovered: 50,
        lost: 0,
        uncounted: 1,
      });
      expect(errors).toStrictEqual([
        expect.stringContaining(`found ${spoolPath}.salvage, a spool salvaged from a damaged file`),
      ]);
      expect(fs.existsSync(`${spoolPath}.salvage`)).toBe(false);
    } finally {
      await emitter.close({ timeoutMs: 1000 });
    }
  });
});
