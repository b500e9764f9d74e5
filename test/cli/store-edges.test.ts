// The real command over real store files at their edges: a store of schema version 1, and time bounds
// finer than the events' milliseconds.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { writeOldStore } from "../helpers/old-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

const T = Date.parse("2026-11-20T00:00:00.000Z");

describe.concurrent("grpc-audit at the edges of its stores", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  it("stats, tail and --decision read a store written by schema version 1 (read-only, not migrated)", async () => {
    const db = join(tempDir(), "v1.db");
    const memory = createMemoryEmitter({ capacity: 2 });
    const recorder = createRecorder({ service: "projects", emitters: [memory], now: () => new Date(T) });
    recorder.recordAuthzDecision({
      relation: "editor",
      objectType: "project",
      objectId: "p-1",
      decision: "denied",
    });
    recorder.recordAuthzDecision({
      relation: "editor",
      objectType: "project",
      objectId: "p-2",
      decision: "allowed",
    });
    const v1 = writeOldStore(db, 1, memory.events);
    v1.close();

    const stats = await runCli(["stats", "--db", db, "--json"]);
    expect([stats.code, stats.stderr]).toStrictEqual([0, ""]);
    expect(JSON.parse(stats.stdout).byDecision).toStrictEqual({ allowed: 1, denied: 1 });
    const denied = await runCli(["query", "--db", db, "--decision", "denied", "--json"]);
    expect([denied.code, denied.stderr]).toStrictEqual([0, ""]);
    expect(JSON.parse(denied.stdout).events.map((e: { eventId: string }) => e.eventId)).toStrictEqual([
      memory.events[0]?.eventId,
    ]);
  });

  it("--to and --from with a fraction finer than a millisecond keep an event of that very millisecond on the right side", async () => {
    const db = join(tempDir(), "audit.db");
    const memory = createMemoryEmitter({ capacity: 1 });
    const recorder = createRecorder({ service: "projects", emitters: [memory], now: () => new Date(T) });
    recorder.recordResourceAccess({ resourceType: "project", resourceId: "p-1" });
    const store = openAuditStore({ path: db });
    store.insert(memory.events);
    store.close();
    // The event occurred at T, which is before T + 0.5 µs: --to (exclusive) must keep it, --from must not.
    const to = await runCli(["query", "--db", db, "--json", "--to", "2026-11-20T00:00:00.0005Z"]);
    expect(JSON.parse(to.stdout).events).toHaveLength(1);
    const from = await runCli(["query", "--db", db, "--json", "--from", "2026-11-20T00:00:00.0005Z"]);
    expect(JSON.parse(from.stdout).events).toHaveLength(0);
  });
});
