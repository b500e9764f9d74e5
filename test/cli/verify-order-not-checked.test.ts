// `grpc-audit verify` says when it did not check the order of the rows, and why: on a PostgreSQL store
// it never does (many writers share it, so its row order is no evidence), with or without
// --ignore-order; on a SQLite store only with --ignore-order.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEY, recordTrail } from "../chain/trail.js";
import { usePostgresForCli } from "../helpers/postgres-suite.js";
import { runCli, tempDir } from "./helpers.js";

const postgres = usePostgresForCli();
let keyArg: string;
let sqlite: string;
let shared: string;

beforeAll(async () => {
  const dir = tempDir();
  const keyFile = join(dir, "key.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  keyArg = `${KEY_ID}=${keyFile}`;
  const trail = await recordTrail(10, { checkpointEvery: 4 });
  sqlite = join(dir, "audit.db");
  const store = openAuditStore({ path: sqlite });
  store.insert(trail);
  store.close();
  shared = await postgres().createDatabase();
  const pg = await openPostgresStore({ connectionString: shared });
  await pg.insert(trail);
  await pg.close();
});

const lastLines = async (...args: string[]) => {
  const run = await runCli(["verify", "--public-key", keyArg, ...args]);
  return [run.code, run.stderr, ...run.stdout.trimEnd().split("\n").slice(-2)];
};

it.each([
  ["without flags", []],
  ["with --ignore-order", ["--ignore-order"]],
])("on a PostgreSQL store, %s, says the row order was not checked and why", async (_, flags) => {
  expect(await lastLines("--db", shared, ...flags)).toStrictEqual([
    0,
    "",
    "(row order not checked: a PostgreSQL store is shared by many writers)",
    "verified: 1 chain, no findings",
  ]);
});

it("on a SQLite store, says it only with --ignore-order", async () => {
  expect(await lastLines("--db", sqlite, "--ignore-order")).toStrictEqual([
    0,
    "",
    "(row order not checked: --ignore-order)",
    "verified: 1 chain, no findings",
  ]);
  const checked = await runCli(["verify", "--public-key", keyArg, "--db", sqlite]);
  expect([checked.code, checked.stdout]).toStrictEqual([0, expect.not.stringContaining("row order")]);
});
