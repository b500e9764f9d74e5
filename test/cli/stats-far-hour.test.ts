// `grpc-audit stats` over a real SQLite store with a row whose time column was edited to a year
// before 0000: its ISO time has a sign and six digits of year (-000002-12-31T23:59:59.999Z), and its
// hour label still reads as a day and an hour, not a day with ":00" after it.
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { sampleEvent } from "../helpers/events.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

it("labels the hour of a time before year 0000 with its day and hour", async () => {
  const db = join(tempDir(), "audit.db");
  const store = openAuditStore({ path: db });
  store.insert([sampleEvent({ kind: "authn" }), sampleEvent({ kind: "authz" })]);
  store.close();
  const raw = new BetterSqlite3(db);
  raw
    .prepare("UPDATE events SET occurred_at_ms = ? WHERE seq = 2")
    .run(Date.parse("-000002-12-31T23:59:59.999Z"));
  raw.close();

  const run = await runCli(["stats", "--db", db]);
  expect(run.code).toBe(0);
  expect(run.stderr).toBe("");
  expect(run.stdout.slice(run.stdout.indexOf("hour (UTC)"))).toBe(
    [
      "hour (UTC)           count",
      "-------------------  -----",
      "-000002-12-31 23:00  1",
      "2026-01-02 03:00     1",
      "",
    ].join("\n"),
  );
});
