// sqlite_sequence raised from outside to 2^53 - 1 (or a row moved to that position) makes the store
// refuse every new event (its next position would be above 2^53 - 1), yet `verify --sealed` said
// "verified: 1 chain, no findings", exit 0. It names the store file as modified, with the statement
// that sets it back.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { beforeAll, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEY, PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

const SET_BACK =
  "UPDATE sqlite_sequence SET seq = (SELECT coalesce(max(seq), 0) FROM events WHERE seq <= 9007199254740991) WHERE name = 'events'";

/** What verify says of the store file when its highest position given is `highest`. */
const refusing = (highest: string) => ({
  where: "the store file",
  reason:
    `the store refuses every new event: the highest position it gave is ${highest} (sqlite_sequence, or a row), so the next would be above 2^53 - 1, where no query could read it; changed from outside. ` +
    `Move rows above 2^53 - 1 back, then set it back: ${SET_BACK}`,
});

/** A store file holding a sealed trail of `count` mutations, changed by `change` from outside. */
async function storeChanged(count: number, change: (db: BetterSqlite3.Database) => void) {
  const path = join(tempDir(), "audit.db");
  const trail = await recordTrail(count, { checkpointEvery: 4 });
  const store = openAuditStore({ path });
  store.insert(trail);
  store.close();
  const db = new BetterSqlite3(path);
  change(db);
  db.close();
  return { path, trail };
}

async function tallied(path: string): Promise<SourceTally> {
  const store = openAuditStore({ path, readonly: true });
  try {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(storeEvents(store, tally), {
      publicKeys: PUBLIC_KEYS,
      expectSealed: true,
    });
    expect(report.chains.map((chain) => [chain.sealed, chain.findings])).toStrictEqual([[true, []]]);
    return tally;
  } finally {
    store.close();
  }
}

it("names a raised sqlite_sequence as modified until it is set back, and the CLI fails on it", async () => {
  const { path, trail } = await storeChanged(10, (db) =>
    db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'").run(2n ** 53n - 1n),
  );
  expect(await tallied(path)).toStrictEqual({
    unreadable: [refusing("9007199254740991")],
    skippedLines: 0,
  });
  const keyFile = join(tempDir(), "key.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  const run = await runCli(["verify", "--db", path, "--public-key", `${KEY_ID}=${keyFile}`, "--sealed"]);
  expect([run.code, run.stderr]).toStrictEqual([9, ""]);
  expect(run.stdout).toContain(`modified the store file: ${refusing("9007199254740991").reason}\n`);
  expect(run.stdout).toContain("NOT verified: 1 finding in 1 chain; worst modified (exit 9)");

  // The statement named sets it back: verify finds nothing, and the store writes again.
  const db = new BetterSqlite3(path);
  db.exec(SET_BACK);
  db.close();
  expect(await tallied(path)).toStrictEqual({ unreadable: [], skippedLines: 0 });
  const store = openAuditStore({ path });
  try {
    store.insert(await recordTrail(1, { open: true }));
    expect(store.lastSeq()).toBe(trail.length + 1);
  } finally {
    store.close();
  }
});

it("names a row moved to position 2^53 - 1, after which the store refuses every new event, and no position short of it", async () => {
  // One short of the limit the store still writes one row, at 2^53 - 1: nothing to name.
  const short = await storeChanged(3, (db) =>
    db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'").run(2n ** 53n - 2n),
  );
  expect(await tallied(short.path)).toStrictEqual({ unreadable: [], skippedLines: 0 });
  const { path } = await storeChanged(3, (db) =>
    db.prepare("UPDATE events SET seq = ? WHERE seq = (SELECT max(seq) FROM events)").run(2n ** 53n - 1n),
  );
  expect(await tallied(path)).toStrictEqual({
    unreadable: [refusing("9007199254740991")],
    skippedLines: 0,
  });
});
