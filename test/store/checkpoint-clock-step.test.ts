// The checkpoint worker's waits with the wall clock stepped back inside the worker (NTP, a resumed VM,
// an operator). They were measured on Date.now(): a step back of 60 s during a TRUNCATE kept the worker
// trying to empty a log a reader held for 61 s instead of its 1 s, while this process's writers waited
// for it and then failed as "locked by another process"; a step right after a PASSIVE checkpoint held
// the next one back 60 s instead of `maxDelayMs`. The step is made in the worker's thread, by the
// driver module the worker loads (the internal `checkpointDriver` option): a real better-sqlite3
// whose Date.now() goes back STEP_BACK_MS right after the worker first read it following a checkpoint
// of the chosen kind, the worst moment for a deadline taken before it.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newEventId } from "../../src/event/ids.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { startCheckpointer } from "../../src/store/checkpointer.js";
import { fileId } from "../../src/store/file-identity.js";
import { errorCollector, tempDir } from "../delivery/helpers.js";
import { STEP_BACK_MS } from "../helpers/clock-step.js";
import { sampleEvent } from "../helpers/events.js";
import { until } from "../helpers/fake-sink.js";

const MIB = 1024 * 1024;

let dir: ReturnType<typeof tempDir>;
/** Every checkpoint the worker ran, one line each, as its driver saw it. */
let checkpointLog: string;

beforeEach(() => {
  dir = tempDir("checkpoint-clock-step");
  checkpointLog = path.join(dir.dir, "checkpoints.log");
});

afterEach(() => dir.remove());

/**
 * A driver module for the checkpoint worker: better-sqlite3, whose pragma() notes each checkpoint in
 * `checkpointLog`, and whose thread's wall clock steps back STEP_BACK_MS once, right after the first
 * reading of it that follows the worker's first `wal_checkpoint(<kind>)`.
 */
function writeSteppingDriver(kind: "TRUNCATE" | "PASSIVE"): string {
  const driver = path.join(dir.dir, `stepping-driver-${kind}.cjs`);
  const real = createRequire(import.meta.url).resolve("better-sqlite3");
  fs.writeFileSync(
    driver,
    `const fs = require("node:fs");
const Database = require(${JSON.stringify(real)});
const realNow = Date.now.bind(Date);
let offsetMs = 0;
let armed = false;
let stepped = false;
Date.now = () => {
  const now = realNow() - offsetMs;
  if (armed) {
    armed = false;
    offsetMs = ${STEP_BACK_MS};
  }
  return now;
};
class SteppingDatabase extends Database {
  pragma(source, options) {
    // Noted before it runs: a test that sees the file grown finds the line written.
    if (source.startsWith("wal_checkpoint(")) fs.appendFileSync(${JSON.stringify(checkpointLog)}, source + "\\n");
    const result = super.pragma(source, options);
    if (!stepped && source === "wal_checkpoint(${kind})") {
      stepped = true;
      armed = true;
    }
    return result;
  }
}
module.exports = SteppingDatabase;
`,
  );
  return driver;
}

const checkpointsRun = (kind: string): number =>
  fs.existsSync(checkpointLog)
    ? fs
        .readFileSync(checkpointLog, "utf8")
        .split("\n")
        .filter((line) => line === `wal_checkpoint(${kind})`).length
    : 0;

describe("the checkpoint worker with the wall clock stepped back in its thread", () => {
  it("gives up emptying a log a reader holds within the busy timeout, so writers go on", () => {
    const file = path.join(dir.dir, "held.db");
    const writer = new Database(file);
    writer.pragma("journal_mode = WAL");
    writer.pragma("wal_autocheckpoint = 0");
    writer.exec("CREATE TABLE t (b BLOB)");
    const insert = writer.prepare("INSERT INTO t VALUES (randomblob(?))");
    insert.run(1000);
    // A long query: its snapshot keeps the log from being emptied until it ends.
    const reader = new Database(file, { readonly: true });
    reader.prepare("BEGIN").run();
    reader.prepare("SELECT count(*) FROM t").get();
    for (let i = 0; i < 3; i++) insert.run(MIB);
    const { errors, onError } = errorCollector();
    const checkpointer = startCheckpointer({
      path: file,
      file: fileId(file),
      logPath: `${file}-wal`,
      busyTimeoutMs: 5000, // the store's default; the worker tries to empty the log for 1 s of it
      rows: 20_000,
      maxDelayMs: 1000,
      logLimitBytes: MIB,
      onFailure: onError,
      driver: writeSteppingDriver("TRUNCATE"),
    });
    try {
      checkpointer.written(3);
      expect(checkpointer.emptying()).toBe(true); // the log is beyond its bound: the writer holds off
      checkpointer.waitWhileEmptying(); // as the store's insert does: up to busyTimeoutMs
      // The worker gave up at its deadline, 60 s of wall clock stepped back during its tries or not.
      expect(checkpointer.emptying()).toBe(false);
      expect(checkpointsRun("TRUNCATE")).toBeGreaterThan(0);
      expect(insert.run(1000).changes).toBe(1); // the reader still holds the log; writes go on
      expect(errors).toStrictEqual([]);
    } finally {
      checkpointer.stop();
      reader.prepare("COMMIT").run();
      reader.close();
      writer.close();
    }
  });

  it("checkpoints rows within maxDelayMs after a step back that followed a checkpoint", async () => {
    const file = path.join(dir.dir, "audit.db");
    const { errors, onError } = errorCollector();
    const store = openAuditStore({ path: file, onError, checkpointDriver: writeSteppingDriver("PASSIVE") });
    try {
      // In WAL mode only a checkpoint writes the database file: its size shows each one.
      const emptySize = fs.statSync(file).size;
      store.insert(Array.from({ length: 500 }, () => sampleEvent({ eventId: newEventId() })));
      await until(() => fs.statSync(file).size > emptySize + 100_000); // the first: then the step
      expect(checkpointsRun("PASSIVE")).toBe(1);
      const firstSize = fs.statSync(file).size;
      store.insert(Array.from({ length: 500 }, () => sampleEvent({ eventId: newEventId() })));
      // The store checkpoints rows within maxDelayMs (1 s) of their write, plus a poll; the step made
      // that 61 s, longer than the test may run (the suite's testTimeout, 30 s).
      await until(() => fs.statSync(file).size > firstSize + 100_000, {
        message: () => `no checkpoint after the write; ${checkpointsRun("PASSIVE")} PASSIVE checkpoints ran`,
      });
      expect(errors).toStrictEqual([]);
    } finally {
      store.close();
    }
  });
});
