// The store's write-ahead log is checkpointed on a worker thread. In WAL mode only a checkpoint writes
// the main database file, so its size shows whether (and when) a checkpoint ran.
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { newEventId } from "../../src/event/ids.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { sampleEvent } from "../helpers/events.js";

const freshPath = () => join(mkdtempSync(join(tmpdir(), "grpc-audit-checkpoints-")), "audit.db");
const events = (count: number) => Array.from({ length: count }, () => sampleEvent({ eventId: newEventId() }));

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe("store checkpoints", () => {
  it("a worker checkpoints within a second of a write far below the inline threshold", async () => {
    const path = freshPath();
    const store = openAuditStore({ path });
    const emptySize = statSync(path).size;
    store.insert(events(500)); // ~0.3 MB of log, far below the 40 MiB an inline checkpoint waits for
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(100_000);
    expect(await waitFor(() => statSync(path).size > emptySize + 100_000)).toBe(true);
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
    expect(await waitFor(() => onError.mock.calls.length > 0)).toBe(true);
    const error = onError.mock.calls[0]?.[0] as Error;
    expect(error.message).toBe(`audit store ${path}: checkpoint worker failed; checkpointing inline`);
    expect(String((error.cause as Error).message)).toContain("/nonexistent/sqlite-driver.js");
    expect(store.insert(events(100))).toBe(100);
    store.close(); // does not wait for a worker that is gone
    expect(existsSync(`${path}-wal`)).toBe(false);
  });
});
