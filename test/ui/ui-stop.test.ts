/**
 * Stopping the real `grpc-audit ui` (a child process) while a verification reads a large SQLite store:
 * the viewer answers other requests meanwhile, stops on SIGTERM without waiting for the verification,
 * and prints no error for the request it cut (it closes the store under it).
 */
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { buildViewer, startViewer, type Viewer } from "./viewer.js";

/** Enough events that their verification outlasts a few requests by far (a second or more). */
const EVENTS = 100_000;
let viewer: Viewer;

beforeAll(async () => {
  const store = openAuditStore({ path: join(tempDir(), "large.db") });
  const memory = createMemoryEmitter({ capacity: EVENTS });
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  for (let n = 0; n < EVENTS; n++) {
    recorder.recordResourceMutation({
      operation: "/example.v1.ProjectService/UpdateProject",
      actor: { id: "alice" },
      requestId: `req-${n}`,
      mutation: "update",
      resourceType: "project",
      resourceId: "p-1",
    });
  }
  await recorder.close();
  store.insert([...memory.events]);
  store.close();
  await buildViewer();
  viewer = await startViewer(["--db", store.path]);
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await viewer?.stop();
});

it("answers while a verification reads the store, and stops on SIGTERM without an error", async () => {
  const order: string[] = [];
  const verification = fetch(`${viewer.url}api/verify`).then(
    async (response) => order.push(`verify ${response.status} ${(await response.text()).length > 0}`),
    () => order.push("verify cut"),
  );
  const info = await fetch(`${viewer.url}api/info`);
  order.push(`info ${info.status}`);
  expect(await viewer.stop()).toBe(0);
  await verification;
  expect(order).toEqual(["info 200", "verify cut"]);
  expect(viewer.stderr()).toBe("");
});
