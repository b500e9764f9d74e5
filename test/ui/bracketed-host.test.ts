/** `grpc-audit ui --host '[::1]'`, run as the built command: an IPv6 address as a URL writes it. */
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, runCli, tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { buildViewer, startViewer } from "./viewer.js";

beforeAll(buildViewer, BUILD_TIMEOUT_MS);

it("listens on an IPv6 address given in brackets, as a URL writes it", async () => {
  const store = openAuditStore({ path: join(tempDir(), "one.db") });
  const event = sampleEvent({ kind: "authn" });
  store.insert([event]);
  store.close();
  const viewer = await startViewer(["--db", store.path, "--host", "[::1]"]);
  expect(viewer.url).toMatch(/^http:\/\/\[::1\]:\d+\/$/);
  const answer = await fetch(`${viewer.url}api/events`);
  expect(answer.status).toBe(200);
  expect(
    ((await answer.json()) as { events: { eventId: string }[] }).events.map((e) => e.eventId),
  ).toStrictEqual([event.eventId]);
  expect(await viewer.stop()).toBe(0);
  expect(viewer.stderr()).toBe(""); // loopback: no warning
});

it("refuses brackets around anything but an IPv6 address, as a usage error", async () => {
  const run = await runCli(["ui", "--db", join(tempDir(), "none.db"), "--host", "[localhost]"]);
  expect(run).toStrictEqual({
    code: 2,
    stdout: "",
    stderr:
      "error: option '--host <address>' argument '[localhost]' is invalid. Brackets hold an IPv6 address, such as [::1].\n",
  });
});
