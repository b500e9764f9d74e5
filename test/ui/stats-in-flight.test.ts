/**
 * The real `grpc-audit ui` (a child process) over a SQLite store while a count is in flight: the count
 * is held at a gate (test/ui/hold-first-count.mjs, preloaded into every thread of the viewer), as a
 * count of a large store runs for seconds. Counted on the event loop, it held every other request:
 * event pages, one event, the page's own files.
 */
import { execFileSync } from "node:child_process";
import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { handleApi } from "../../src/ui/api.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { recordDay } from "./trail.js";
import { buildViewer, startViewer, storeSource, type Viewer } from "./viewer.js";

const HOLD = new URL("./hold-first-count.mjs", import.meta.url);

let viewer: Viewer | undefined;
let gate: FileHandle | undefined;

beforeAll(buildViewer, BUILD_TIMEOUT_MS);

afterEach(async () => {
  await gate?.close(); // a count still held goes on, so the viewer can stop
  await viewer?.stop();
});

it("answers event pages, one event and the page itself while a count is in flight", async () => {
  const db = join(tempDir(), "day.db");
  const store = openAuditStore({ path: db });
  store.insert(await recordDay());
  const plain = storeSource("day.db", store);
  const expected = async (path: string, search: string) =>
    (await handleApi(plain, path, new URLSearchParams(search))).body;
  const page = (await expected("/api/events", "limit=5")) as { events: { eventId: string }[] };
  const stats = await expected("/api/stats", "actor=dave");
  const event = page.events[0];
  const eventId = event?.eventId ?? "";
  store.close();

  const fifo = join(tempDir(), "count-gate");
  execFileSync("mkfifo", [fifo]);
  viewer = await startViewer(["--db", db], {
    NODE_OPTIONS: `--import=${HOLD.href}`,
    GRPC_AUDIT_TEST_COUNT_GATE: fifo,
  });
  const answers: string[] = [];
  const get = async (path: string) => {
    const response = await fetch(new URL(path, viewer?.url));
    const body = response.headers.get("content-type")?.startsWith("application/json")
      ? await response.json()
      : (await response.text()).length > 0;
    answers.push(path);
    return [response.status, body];
  };
  const counted = get("/api/stats?actor=dave");
  gate = await open(fifo, "w"); // resolves once the count has begun: it is held until the gate closes
  expect(await get("/api/events?limit=5")).toEqual([200, page]);
  expect(await get(`/api/event?id=${eventId}`)).toEqual([200, { event }]);
  expect(await get("/")).toEqual([200, true]);
  // Not the count's: it is still held.
  expect(answers).toEqual(["/api/events?limit=5", `/api/event?id=${eventId}`, "/"]);
  await gate.close();
  expect(await counted).toEqual([200, stats]);
  expect(await viewer.stop()).toBe(0);
  expect(viewer.stderr()).toBe("");
});
