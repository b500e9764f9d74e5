// A store file moved or deleted (with its -wal and -shm) right after a writer opened it, before the
// store's checkpoint worker, which starts tens of milliseconds later, opened its own connection. The
// worker used to open the path as a new database: an empty w.db appeared there, which the writer
// then took for a replacement and readers for the store.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { errorCollector, ids, numberedEvents, tempDir } from "../delivery/helpers.js";
import { until } from "../helpers/fake-sink.js";
import { storedIds } from "./stored-ids.js";

let dir: ReturnType<typeof tempDir>;
let file: string;
let gate: string;
let gatedDriver: string;

beforeEach(() => {
  dir = tempDir("moved-before-checkpoints");
  file = path.join(dir.dir, "w.db");
  gate = path.join(dir.dir, "open-the-gate");
  gatedDriver = writeGatedDriver(dir.dir, gate);
});

afterEach(() => dir.remove());

/**
 * A driver module for the checkpoint worker that loads better-sqlite3 only once `gate` exists: the
 * worker then cannot open the store before the test has taken the file away, however the threads are
 * scheduled (on a loaded machine the worker once started first and the failure never came).
 */
function writeGatedDriver(folder: string, gate: string): string {
  const driver = path.join(folder, "gated-driver.cjs");
  const real = createRequire(import.meta.url).resolve("better-sqlite3");
  fs.writeFileSync(
    driver,
    `const fs = require("node:fs");
const pause = new Int32Array(new SharedArrayBuffer(4));
const deadline = Date.now() + 60000;
while (!fs.existsSync(${JSON.stringify(gate)}) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 2);
module.exports = require(${JSON.stringify(real)});
`,
  );
  return driver;
}

/** Moves (or deletes) the store file and the -wal and -shm beside it, as an operator's `mv`/`rm` does. */
function takeAway(how: "moved" | "deleted"): void {
  for (const suffix of ["", "-wal", "-shm"]) {
    if (!fs.existsSync(`${file}${suffix}`)) continue;
    if (how === "moved") fs.renameSync(`${file}${suffix}`, `${file}.1${suffix}`);
    else fs.rmSync(`${file}${suffix}`);
  }
}

describe.each(["moved", "deleted"] as const)("a store file %s before its checkpoint worker is up", (how) => {
  it("creates no file at the path; later events fail, are counted and reported; none is lost uncounted", async () => {
    const store = { errors: errorCollector() };
    const writer = openAuditStore({
      path: file,
      onError: store.errors.onError,
      checkpointDriver: gatedDriver,
    });
    writer.insert(numberedEvents(8));
    takeAway(how);
    fs.writeFileSync(gate, ""); // the worker may open its connection now

    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({ sink: writer.sink(), name: "audit store", onError });
    for (const event of numberedEvents(40, "authz", "n")) emitter.emit(event);
    await until(() => errors.length > 0); // the first failed write, reported
    expect(await emitter.close({ timeoutMs: 10 })).toMatchObject({ ok: false, delivered: 0, dropped: 40 });
    writer.close(); // waits for the worker to stop: whatever it opened, it has opened

    expect(fs.existsSync(file)).toBe(false);
    await until(() => store.errors.errors.length > 0); // the worker's failure, from its thread
    expect(how === "moved" ? storedIds(`${file}.1`) : fs.existsSync(`${file}.1`)).toStrictEqual(
      how === "moved" ? ids(1, 8) : false,
    );
    expect(emitter.stats()).toMatchObject({ emitted: 40, delivered: 0, dropped: { close_timeout: 40 } });
    expect((errors[0]?.cause as Error | undefined)?.message).toBe(
      `audit store ${file}: the file was removed or replaced while this store had it open: the events of this batch were not stored; restore the file or restart the writer`,
    );
    expect(store.errors.errors.map((e) => [e.message, (e.cause as Error).message])).toStrictEqual([
      [
        `audit store ${file}: checkpoint worker failed; checkpointing inline`,
        "the store file was moved, removed or replaced before the checkpoint worker opened it",
      ],
    ]);
  });
});
