/**
 * The counting thread of the web viewer over a real SQLite store file: the compiled thread (dist/, as
 * the package ships it; the TypeScript source has no thread file beside it) with its own connection.
 */
import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setEnvironmentData } from "node:worker_threads";
import { afterEach, beforeAll, expect, it } from "vitest";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import type { AuditQuery } from "../../src/store/query.js";
import { handleApi } from "../../src/ui/api.js";
import { type StatsWorker, startStatsWorker } from "../../src/ui/stats-worker.js";
import { startUiServer } from "../../src/ui/ui-server.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, REPO, tempDir } from "../cli/helpers.js";
import { recordDay, TRAIL_T0 } from "./trail.js";
import { storeSource } from "./viewer.js";

/** The thread as tsc emits it. */
const THREAD = pathToFileURL(join(REPO, "dist/ui/stats-thread.js"));

let events: AuditEvent[];
const opened: { close(): unknown }[] = [];

beforeAll(async () => {
  await ensureBuilt();
  events = await recordDay();
}, BUILD_TIMEOUT_MS);

afterEach(async () => {
  for (const resource of opened.splice(0).reverse()) await resource.close();
});

/** A store file holding the day of calls, open (WAL) as the viewer's own connection. */
function dayStore(): AuditStore {
  const store = openAuditStore({ path: join(tempDir(), "day.db") });
  store.insert(events);
  opened.push(store);
  return store;
}

function statsWorker(store: AuditStore, threadFile = THREAD): StatsWorker {
  const worker = startStatsWorker({ path: store.path, busyTimeoutMs: 2000, threadFile });
  opened.push(worker);
  return worker;
}

it("counts on its own connection exactly as the store does", async () => {
  const store = dayStore();
  const worker = statsWorker(store);
  const filters: AuditQuery[] = [
    {},
    { actorId: "dave" },
    { decision: "denied" },
    { type: ["authz.decision", "tuple.change"], success: true },
    { from: new Date(TRAIL_T0 + 3_600_000), to: new Date(TRAIL_T0 + 5 * 3_600_000) },
    { actorId: "nobody" },
  ];
  const counted = await Promise.all(filters.map((filter) => worker.stats(filter)));
  expect(counted).toEqual(filters.map((filter) => store.stats(filter)));
  expect(counted[0]?.total).toBe(events.length);
});

it("refuses a bad filter as the store does, with its input error (the API's 400)", async () => {
  const worker = statsWorker(dayStore());
  const thrown = await worker.stats({ actor: "alice" } as AuditQuery).then(
    () => undefined,
    (error: Error) => [error.name, error.message],
  );
  expect(thrown).toEqual(["AuditInputError", "audit query: unknown name `actor` (did you mean `actorId`?)"]);
});

it("counts only in the file the viewer opened, not one put at its path before the thread opens it", async () => {
  const store = dayStore();
  const worker = statsWorker(store);
  const other = openAuditStore({ path: join(tempDir(), "other.db") });
  other.close();
  renameSync(other.path, store.path);
  await expect(worker.stats({})).rejects.toThrow(
    `audit store ${store.path}: the file was removed or replaced since the viewer opened it`,
  );
});

it.each(["throw", "exit"] as const)(
  "a thread that fails (%s) answers 500 to the count it was asked, and the next count gets a new thread",
  async (failure) => {
    const store = dayStore();
    const started = new Int32Array(new SharedArrayBuffer(4));
    setEnvironmentData("grpc-audit-failing-stats-thread", { started, failure, realThread: THREAD.href });
    const worker = statsWorker(store, new URL("./failing-stats-thread.mjs", import.meta.url));
    const errors: Error[] = [];
    const viewer = await startUiServer({
      source: storeSource("day.db", store, { stats: (filter) => worker.stats(filter) }),
      port: 0,
      onError: (error) => errors.push(error),
    });
    opened.push(viewer);
    const failed = await fetch(`${viewer.url}api/stats?actor=alice`);
    const why =
      failure === "exit"
        ? "web viewer: the counting thread stopped (exit code 7)"
        : "web viewer: the counting thread failed: the thread ran out of memory";
    expect([failed.status, await failed.json()]).toEqual([500, { error: `cannot read the store: ${why}` }]);
    const plain = storeSource("day.db", store);
    const expected = await handleApi(plain, "/api/stats", new URLSearchParams("actor=alice"));
    const next = await fetch(`${viewer.url}api/stats?actor=alice`);
    expect([next.status, await next.json()]).toEqual([200, expected.body]);
    expect([Atomics.load(started, 0), errors.map((error) => error.message)]).toEqual([2, [why]]);
  },
);

it("ends its thread when the viewer closes: the store's last connection then removes the log", async () => {
  const store = dayStore();
  const worker = startStatsWorker({ path: store.path, busyTimeoutMs: 2000, threadFile: THREAD });
  const viewer = await startUiServer({
    source: {
      ...storeSource("day.db", store, { stats: (filter) => worker.stats(filter) }),
      close: worker.close,
    },
    port: 0,
  });
  expect((await fetch(`${viewer.url}api/stats`)).status).toBe(200);
  await viewer.close();
  store.close();
  expect(existsSync(`${store.path}-wal`)).toBe(false);
  await expect(worker.stats({})).rejects.toThrow("web viewer: closed; the count was not started");
});
