// `stats` on a store without events (or none matching the filters) prints the total alone, not five
// empty tables under their headings.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, seedEvents, tempDir } from "./helpers.js";

describe.concurrent("grpc-audit stats with no events to count", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  it("prints one line for an empty store", async () => {
    const db = join(tempDir(), "audit.db");
    openAuditStore({ path: db }).close();

    expect(await runCli(["stats", "--db", db])).toStrictEqual({
      code: 0,
      stdout: "total events: 0\n",
      stderr: "",
    });
  });

  it("and for filters that match none of its events", async () => {
    const db = join(tempDir(), "audit.db");
    const store = openAuditStore({ path: db });
    store.insert(seedEvents(5));
    store.close();

    expect(await runCli(["stats", "--db", db, "--actor", "nobody"])).toStrictEqual({
      code: 0,
      stdout: "total events: 0\n",
      stderr: "",
    });
  });
});
