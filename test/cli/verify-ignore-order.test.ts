// A SQLite store filled by `grpc-audit ingest` holds a batch redelivered by the broker after the
// batches that came meanwhile: its rows are out of recording order although every event is stored
// once, and verify reports `reordered` (exit 5). `--ignore-order` leaves the row order out and
// keeps every other finding.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEY, recordTrail } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

/** A store of one sealed chain whose second batch (4 events) was stored after the third. */
async function redeliveredStore(): Promise<{ db: string; keyArg: string; lastId: string }> {
  const dir = tempDir();
  const keyFile = join(dir, "key.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  const trail = await recordTrail(10, { checkpointEvery: 4 });
  const db = join(dir, "audit.db");
  const store = openAuditStore({ path: db });
  store.insert(trail.slice(0, 4));
  store.insert(trail.slice(8));
  store.insert(trail.slice(4, 8));
  store.close();
  return { db, keyArg: `${KEY_ID}=${keyFile}`, lastId: trail[7]?.eventId ?? "" };
}

it("verify reports rows out of order and names --ignore-order, which verifies the chain without them", async () => {
  const { db, keyArg } = await redeliveredStore();
  const strict = await runCli(["verify", "--db", db, "--public-key", keyArg]);
  expect([strict.code, ...strict.stdout.trimEnd().split("\n").slice(-2)]).toStrictEqual([
    5,
    expect.stringMatching(/^NOT verified: \d+ findings? in 1 chain; worst reordered \(exit 5\)$/),
    "Rows out of order are expected in a store filled by `grpc-audit ingest` (a redelivered batch comes late): --ignore-order checks everything else.",
  ]);
  const lenient = await runCli(["verify", "--db", db, "--public-key", keyArg, "--ignore-order"]);
  expect([lenient.code, lenient.stderr]).toStrictEqual([0, ""]);
  expect(lenient.stdout.trimEnd().split("\n").slice(-2)).toStrictEqual([
    "(row order not checked: --ignore-order)",
    "verified: 1 chain, no findings",
  ]);
});

it("--ignore-order still reports a deleted event", async () => {
  const { db, keyArg, lastId } = await redeliveredStore();
  const sqlite = new BetterSqlite3(db);
  sqlite.prepare("DELETE FROM events WHERE event_id = ?").run(lastId);
  sqlite.close();
  const run = await runCli(["verify", "--db", db, "--public-key", keyArg, "--ignore-order", "--json"]);
  const report = JSON.parse(run.stdout) as { exitCode: number; chains: { findings: { kind: string }[] }[] };
  expect(report.chains.flatMap((chain) => chain.findings.map((f) => f.kind))).not.toContain("reordered");
  expect([run.code, report.exitCode]).toStrictEqual([6, 6]); // missing
});
