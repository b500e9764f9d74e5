/** `grpc-audit ui --host ::`, run as the built command: its warning writes the address as its URL does. */
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { buildViewer, startViewer } from "./viewer.js";

beforeAll(buildViewer, BUILD_TIMEOUT_MS);

it("brackets an IPv6 address in its warning, as in its URL (not `listening on :::`)", async () => {
  const store = openAuditStore({ path: join(tempDir(), "one.db") });
  store.insert([sampleEvent({ kind: "authn" })]);
  store.close();
  const viewer = await startViewer(["--db", store.path, "--host", "::"]);
  expect(viewer.url).toMatch(/^http:\/\/\[::\]:\d+\/$/);
  expect(await viewer.stop()).toBe(0);
  expect(viewer.stderr()).toBe(
    "warning: listening on [::]: anyone who can reach it reads the trail (the viewer has no login)\n",
  );
});
