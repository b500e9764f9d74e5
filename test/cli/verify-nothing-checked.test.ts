/**
 * `grpc-audit verify` on real stores and logs where it once said "no findings" having checked nothing,
 * or not every event: an emptied store, a store of a Recorder with `chain: false`, an empty log, a row
 * without a chain put next to a sealed chain, a public key that signed none of the trail.
 */
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { VERIFY_EXIT_CODES } from "../../src/cli/commands/verify.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { edited } from "../chain/tamper.js";
import { KEY_ID, PUBLIC_KEY, recordMutations, recordTrail } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

let dir: string;
let sealedDb: string;
let keyArg: string;
let trail: AuditEvent[];

/** A new store file holding `events`. */
function storeWith(name: string, events: readonly AuditEvent[]): string {
  const path = join(dir, name);
  const store = openAuditStore({ path });
  store.insert(events);
  store.close();
  return path;
}

beforeAll(async () => {
  dir = tempDir();
  const keyFile = join(dir, "audit-test.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  keyArg = `${KEY_ID}=${keyFile}`;
  trail = await recordTrail(10, { checkpointEvery: 4 });
  sealedDb = storeWith("sealed.db", trail);
  await ensureBuilt();
}, BUILD_TIMEOUT_MS);

const verify = (...args: string[]) => runCli(["verify", "--public-key", keyArg, ...args]);

describe.concurrent("grpc-audit verify on a trail without chained events", () => {
  it("finds an emptied store `empty` (exit 11) with --sealed, and says nothing was verified without", async () => {
    const db = join(dir, "emptied.db");
    copyFileSync(sealedDb, db);
    const raw = new BetterSqlite3(db);
    raw.prepare("DELETE FROM events").run();
    raw.close();
    const sealed = await verify("--db", db, "--sealed");
    expect([sealed.code, sealed.stderr]).toStrictEqual([VERIFY_EXIT_CODES.empty, ""]);
    expect(VERIFY_EXIT_CODES.empty).toBe(11);
    expect(sealed.stdout).toBe(
      "empty         the trail holds no event: nothing was verified\n" +
        `(key ${KEY_ID} signed no checkpoint of the trail)\n` +
        "NOT verified: 1 finding in 0 chains; worst empty (exit 11)\n",
    );
    const json = JSON.parse((await verify("--db", db, "--sealed", "--json")).stdout);
    expect(json).toMatchObject({
      ok: false,
      exitCode: 11,
      chains: [],
      findings: [{ kind: "empty", eventId: "", detail: "the trail holds no event: nothing was verified" }],
    });
    const open = await verify("--db", db);
    expect([open.code, open.stdout]).toStrictEqual([
      0,
      `(key ${KEY_ID} signed no checkpoint of the trail)\n` +
        "nothing verified: the trail holds no chained event (--sealed makes that a finding)\n",
    ]);
  });

  it("finds a store of a Recorder with chain: false `empty` with --sealed", async () => {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "projects", emitters: [memory], chain: false });
    recordMutations(recorder, 3);
    await recorder.close();
    const db = storeWith("unchained.db", memory.events);
    const run = await verify("--db", db, "--sealed");
    expect(run.code).toBe(VERIFY_EXIT_CODES.empty);
    expect(run.stdout).toMatch(/^empty +the trail holds 3 events, none in a chain: nothing was verified$/m);
  });

  it("finds an empty log `empty` with --sealed", async () => {
    const log = join(dir, "empty.ndjson");
    writeFileSync(log, "");
    expect((await verify("--log", log, "--sealed")).code).toBe(VERIFY_EXIT_CODES.empty);
  });
});

describe.concurrent("grpc-audit verify --sealed on a store with sealed chains", () => {
  it("finds a row without a chain put next to them `unchained` (exit 12); without --sealed it is counted", async () => {
    const db = join(dir, "forged.db");
    copyFileSync(sealedDb, db);
    const store = openAuditStore({ path: db });
    store.insert([{ ...edited(trail[6] as AuditEvent), eventId: "forged", chain: undefined }]);
    store.close();
    const sealed = await verify("--db", db, "--sealed", "--json");
    expect(sealed.code).toBe(VERIFY_EXIT_CODES.unchained);
    expect(JSON.parse(sealed.stdout)).toMatchObject({
      ok: false,
      chains: [{ sealed: true, findings: [] }],
      findings: [{ kind: "unchained", eventId: "forged" }],
      exitCode: 12,
    });
    const table = await verify("--db", db, "--sealed");
    expect(table.stdout).toMatch(
      /^unchained +first event forged: 1 event has no chain: nothing verifies it\nNOT verified: 1 finding in 1 chain; worst unchained \(exit 12\)$/m,
    );
    const open = await verify("--db", db);
    expect([open.code, open.stdout]).toStrictEqual([0, expect.stringContaining("(1 event without a chain)")]);
  });

  it("names a public key that signed no checkpoint of the trail, without a finding", async () => {
    const other = join(dir, "old.pub.pem");
    writeFileSync(other, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
    const run = await verify("--db", sealedDb, "--sealed", "--public-key", `audit-2025=${other}`);
    expect([run.code, run.stdout]).toStrictEqual([
      0,
      expect.stringContaining(
        "(key audit-2025 signed no checkpoint of the trail)\nverified: 1 chain, no findings",
      ),
    ]);
  });
});
