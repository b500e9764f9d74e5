// `grpc-audit verify --db` on what only a store's own rules rule out: a row put in twice (a store keeps
// one row per event id, so it is no at-least-once duplicate), and an index that lacks a row (which
// hides it from query while the table, what verify reads, holds it). And the summary's counts.
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { beforeAll, expect, it } from "vitest";
import { VERIFY_EXIT_CODES } from "../../src/cli/commands/verify.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEY, recordTrail } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";
import { hideRowFromIndex, putRowTwice } from "./store-tampering.js";

let dir: string;
let baseDb: string;
let keyArg: string;

beforeAll(async () => {
  dir = tempDir();
  baseDb = join(dir, "base.db");
  const keyFile = join(dir, "key.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  keyArg = `${KEY_ID}=${keyFile}`;
  const store = openAuditStore({ path: baseDb });
  store.insert(await recordTrail(4));
  store.close();
  await ensureBuilt();
}, BUILD_TIMEOUT_MS);

function tampered(tamper: (db: BetterSqlite3.Database) => void): string {
  const path = join(dir, `tampered-${Math.random().toString(36).slice(2)}.db`);
  copyFileSync(baseDb, path);
  const db = new BetterSqlite3(path);
  tamper(db);
  db.close();
  return path;
}

const verify = (path: string) => runCli(["verify", "--db", path, "--public-key", keyArg, "--sealed"]);

it("reports a row put in again (the table rebuilt without its UNIQUE event id) as modified", async () => {
  const path = tampered(putRowTwice);
  const run = await verify(path);
  expect(run.stdout).toMatch(
    /seq 2 event \S+: the store holds the event at seq 2 twice, which it never writes \(one row per event id\): a row put in again\n/,
  );
  expect(run.stdout).not.toContain("duplicate");
  expect(run.code).toBe(VERIFY_EXIT_CODES.modified);
});

it("reports an index that lacks a row (hiding it from query) as modified, from PRAGMA integrity_check", async () => {
  const path = tampered(hideRowFromIndex);
  const query = await runCli(["query", "--db", path, "--target-type", "project", "--target-id", "p-3"]);
  expect(query.stdout).not.toContain("p-3"); // hidden from query
  const run = await verify(path);
  expect(run.stdout).toContain(
    "modified the store file: integrity_check: row 3 missing from index events_target\n",
  );
  expect(run.code).toBe(VERIFY_EXIT_CODES.modified);
});

it("counts in the summary with singular and plural nouns", async () => {
  const one = join(dir, "one.db");
  const store = openAuditStore({ path: one });
  store.insert(await recordTrail(0));
  store.close();
  const run = await verify(one);
  expect(run.stdout).toMatch(/: 1 event, seq 1-1, 1 checkpoint \(1 verified\), sealed\n/);
  expect((await verify(baseDb)).stdout).toMatch(/: 5 events, seq 1-5, 1 checkpoint \(1 verified\), sealed\n/);
});
