import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { SPOOL_WAL_LIMIT_BYTES } from "../../src/delivery/spool-file.js";
import { openAuditStore } from "../../src/store/index.js";
import { sampleEvent } from "../helpers/events.js";
import { tempDir } from "./helpers.js";

let dir: ReturnType<typeof tempDir>;

beforeEach(() => {
  dir = tempDir("wal-size");
});

afterEach(() => {
  dir.remove();
});

describe("the spool's -wal file", () => {
  it("is cut back after a checkpoint instead of staying at its largest size", async () => {
    const store = openAuditStore({ path: path.join(dir.dir, "store.db") });
    const spoolPath = path.join(dir.dir, "spool.db");
    // Write-ahead: every event goes through the spool file (a real SQLite store is the sink), and its
    // row is deleted once the store took it.
    const emitter = createDeliveryEmitter({
      name: "wal-size",
      sink: store.sink(),
      spool: { path: spoolPath, writeAhead: true },
    });
    const sizes: number[] = [];
    let next = 0;
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 500; i++) {
        emitter.emit(sampleEvent({ eventId: `w-${String(next++).padStart(6, "0")}` }));
      }
      const report = await emitter.flush();
      expect(report).toStrictEqual({
        ok: true,
        results: [{ emitter: "wal-size", status: "ok", pending: 0 }],
        pending: 0,
      });
      sizes.push(fs.statSync(`${spoolPath}-wal`).size);
    }
    await emitter.close();
    store.close();

    // SQLite's checkpoint every 1000 pages lets the file grow to about 4 MiB; after that it used to
    // stay at that size for good.
    const largest = Math.max(...sizes);
    expect(largest).toBeGreaterThan(3 * 1024 * 1024);
    const after = sizes.slice(sizes.indexOf(largest) + 1);
    expect(Math.min(...after)).toBeLessThanOrEqual(SPOOL_WAL_LIMIT_BYTES);
  });
});
