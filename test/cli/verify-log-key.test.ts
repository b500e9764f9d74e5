// `verify --log-key ""` is a usage error (exit 2): it named no field, and every line of a good log
// read as "without an event" with exit 0.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

describe("verify --log-key", () => {
  it("refuses an empty key as a usage error", async () => {
    const log = join(tempDir(), "audit.ndjson");
    writeFileSync(log, `${JSON.stringify({ level: 30, audit: {} })}\n`);
    const run = await runCli(["verify", "--log", log, "--log-key", ""]);
    expect([run.code, run.stderr.split("\n")[0]]).toStrictEqual([
      2,
      "error: option '--log-key <key>' is empty: give the key the log emitter writes the event under (default: audit)",
    ]);
  });
});
