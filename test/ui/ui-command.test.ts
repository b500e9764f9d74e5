/** `grpc-audit ui`'s arguments and failures, run as the built command. */
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, runCli, tempDir } from "../cli/helpers.js";
import { buildViewer } from "./viewer.js";

beforeAll(buildViewer, BUILD_TIMEOUT_MS);

it.each(["abc", "-1", "65536"])("refuses --port %s", async (port) => {
  const run = await runCli(["ui", "--port", port]);
  expect(run).toEqual({
    code: 2,
    stdout: "",
    stderr: `error: option '--port <n>' argument '${port}' is invalid. Use an integer from 0 to 65535.\n`,
  });
});

it("fails without a store, and never creates one", async () => {
  const db = join(tempDir(), "missing.db");
  const run = await runCli(["ui", "--db", db, "--port", "0"]);
  expect(run).toEqual({
    code: 1,
    stdout: "",
    stderr: `error: no audit database at ${db}; run \`grpc-audit demo\` or pass --db\n`,
  });
});
