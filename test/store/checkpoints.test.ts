// The store's write-ahead log is checkpointed on a worker thread. In WAL mode only a checkpoint writes
// the main database file, so its size shows whether (and when) a checkpoint ran.
import { existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { newEventId } from "../../src/event/ids.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { sampleEvent } from "../helpers/events.js";
import { until } from "../helpers/fake-sink.js";

const freshPath = () => join(mkdtempSync(join(tmpdir(), "grpc-audit-checkpoints-")), "audit.db");
const events = (count: number) => Array.from({ length: count }, () => sampleEvent({ eventId: newEventId() }));

/**
 * A driver module for the checkpoint worker (the internal `checkpointDriver` option): better-sqlite3,
 * with the monotonic clock of the worker's thread held, moved on only by `moveTo`. `read()` says
 * whether the worker has read it (its first reading is its start time).
 */
function heldClockDriver(dir: string) {
  const clockFile = join(dir, "clock-ms");
  const readMark = join(dir, "clock-read");
  const driver = join(dir, "held-clock-driver.cjs");
  writeFileSync(clockFile, "0");
  writeFileSync(
    driver,
    `const { readFileSync, writeFileSync } = require("node:fs");
const heldAt = Math.ceil(performance.now()); // whole: heldAt + 1000 - heldAt is exactly 1000
let read = false;
performance.now = () => {
  const now = heldAt + Number(readFileSync(${JSON.stringify(clockFile)}, "utf8"));
  if (!read) writeFileSync(${JSON.stringify(readMark)}, ""); // after the reading: a move comes after it
  read = true;
  return now;
};
module.exports = require(${JSON.stringify(createRequire(import.meta.url).resolve("better-sqlite3"))});
`,
  );
  return {
    driver,
    read: () => existsSync(readMark),
    moveTo: (ms: number) => writeFileSync(clockFile, String(ms)),
  };
}

describe("store checkpoints", () => {
  it("a worker checkpoints a write far below the inline threshold once a second has passed on its clock", async () => {
    const path = freshPath();
    const clock = heldClockDriver(dirname(path));
    const store = openAuditStore({ path, checkpointDriver: clock.driver });
    const emptySize = statSync(path).size;
    store.insert(events(500)); // ~0.3 MB of log, far below the 40 MiB an inline checkpoint waits for
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(100_000);
    await until(clock.read);
    clock.moveTo(1000); // maxDelayMs since the worker started
    await until(() => statSync(path).size > emptySize + 100_000);
    store.close();
  });

  it("with backgroundCheckpoints false, only SQLite's inline checkpoint writes the file", async () => {
    const path = freshPath();
    const store = openAuditStore({ path, backgroundCheckpoints: false });
    const emptySize = statSync(path).size;
    store.insert(events(500));
    await new Promise((resolve) => setTimeout(resolve, 1500)); // longer than the worker's longest delay
    expect(statSync(path).size).toBe(emptySize);
    store.close();
    expect(statSync(path).size).toBeGreaterThan(emptySize + 100_000); // closing checkpoints the rest
  });

  it("close stops the worker, leaves no log behind and keeps every event", () => {
    const path = freshPath();
    const store = openAuditStore({ path });
    const written = events(2000);
    for (let i = 0; i < written.length; i += 250) store.insert(written.slice(i, i + 250));
    store.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    const reopened = openAuditStore({ path, readonly: true });
    expect(reopened.stats().total).toBe(2000);
    reopened.close();
  });

  it("rejects option values of the wrong type", () => {
    const path = freshPath();
    expect(() => openAuditStore({ path, backgroundCheckpoints: "yes" as unknown as boolean })).toThrow(
      "audit store: `backgroundCheckpoints` must be a boolean",
    );
    expect(() => openAuditStore({ path, onError: 1 as unknown as () => void })).toThrow(
      "audit store: `onError` must be a function",
    );
  });

  it("a worker that cannot start is reported and the store checkpoints inline", async () => {
    const path = freshPath();
    const onError = vi.fn();
    const store = openAuditStore({ path, onError, checkpointDriver: "/nonexistent/sqlite-driver.js" });
    await until(() => onError.mock.calls.length > 0);
    const error = onError.mock.calls[0]?.[0] as Error;
    expect(error.message).toBe(`audit store ${path}: checkpoint worker failed; checkpointing inline`);
    expect(String((error.cause as Error).message)).toContain("/nonexistent/sqlite-driver.js");
    expect(store.insert(events(100))).toBe(100);
    store.close(); // does not wait for a worker that is gone
    expect(existsSync(`${path}-wal`)).toBe(false);
  });
});
