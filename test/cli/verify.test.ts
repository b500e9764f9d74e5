import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { VERIFY_EXIT_CODES } from "../../src/cli/commands/verify.js";
import { logEvents, type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { encodeEvent, eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { edited, editedAndRehashed, editedHead, forgedCheckpoint } from "../chain/tamper.js";
import { KEY_ID, PUBLIC_KEY, PUBLIC_KEYS, recordMutations, SIGNING_KEY } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

// One trail, written by a real Recorder to a real log file and (the same events) a real store: 10
// mutations with a checkpoint every 4. Seqs 1-4 mutations, 5 checkpoint, 6-9, 10 checkpoint, 11-12, 13 final.
let dir: string;
let baseDb: string;
let baseLog: string;
let keyFile: string;
let trail: AuditEvent[];
const at = (seq: number): AuditEvent => {
  const event = trail[seq - 1];
  if (event === undefined) throw new Error(`no seq ${seq}`);
  return event;
};

beforeAll(async () => {
  dir = tempDir();
  baseDb = join(dir, "base.db");
  baseLog = join(dir, "base.ndjson");
  keyFile = join(dir, "audit-test.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory, createLogEmitter({ destination: baseLog, sync: true })],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 4 },
  });
  recordMutations(recorder, 10);
  expect((await recorder.close()).ok).toBe(true);
  trail = [...memory.events];
  const store = openAuditStore({ path: baseDb });
  store.insert(trail);
  store.close();
  await ensureBuilt();
}, BUILD_TIMEOUT_MS);

/** A copy of the base store changed by `tamper` (plain SQL on the file, as anyone with write access could). */
function tamperedDb(tamper: (db: BetterSqlite3.Database) => void): string {
  const path = join(dir, `tampered-${Math.random().toString(36).slice(2)}.db`);
  copyFileSync(baseDb, path);
  const db = new BetterSqlite3(path);
  tamper(db);
  db.close();
  return path;
}
/** Replaces a row's event, and its target columns with the new event's, as a careful attacker would. */
const setEvent = (db: BetterSqlite3.Database, event: AuditEvent) =>
  db
    .prepare("UPDATE events SET event = ?, target_type = ?, target_id = ? WHERE event_id = ?")
    .run(encodeEvent(event), event.target?.type ?? "", event.target?.id ?? "", event.eventId);
const deleteEvent = (db: BetterSqlite3.Database, seq: number) =>
  db.prepare("DELETE FROM events WHERE event_id = ?").run(at(seq).eventId);

/** A copy of the base log with its lines changed by `tamper`. */
function tamperedLog(tamper: (lines: string[]) => string[]): string {
  const path = join(dir, `tampered-${Math.random().toString(36).slice(2)}.ndjson`);
  const lines = readFileSync(baseLog, "utf8").trimEnd().split("\n");
  writeFileSync(path, `${tamper(lines).join("\n")}\n`);
  return path;
}
/** The log line of an event as the log emitter wrote it, with another event in it. */
function lineWith(line: string | undefined, event: AuditEvent): string {
  return JSON.stringify({ ...JSON.parse(line ?? "{}"), audit: eventToJson(event) });
}
const swap = (lines: string[], seq: number, event: AuditEvent) =>
  lines.map((line, i) => (i === seq - 1 ? lineWith(line, event) : line));

type Kind = keyof typeof VERIFY_EXIT_CODES | "ok";

describe.concurrent("grpc-audit verify on a real store", () => {
  const cases: [string, Kind, number | undefined, () => string][] = [
    ["an untouched store", "ok", undefined, () => baseDb],
    ["an edited event", "modified", 7, () => tamperedDb((db) => setEvent(db, edited(at(7))))],
    [
      "an edited event with a recomputed hash",
      "broken_link",
      8,
      () => tamperedDb((db) => setEvent(db, editedAndRehashed(at(7)))),
    ],
    ["a deleted event", "missing", 7, () => tamperedDb((db) => deleteEvent(db, 7))],
    [
      "an event moved to the end",
      "reordered",
      2,
      () =>
        tamperedDb((db) =>
          db
            .prepare("UPDATE events SET seq = (SELECT max(seq) + 1 FROM events) WHERE event_id = ?")
            .run(at(2).eventId),
        ),
    ],
    ["the final checkpoint deleted", "truncated", 12, () => tamperedDb((db) => deleteEvent(db, 13))],
    [
      "a checkpoint signed with another key",
      "bad_signature",
      10,
      () => tamperedDb((db) => setEvent(db, forgedCheckpoint(at(10)))),
    ],
    [
      "a final checkpoint with an edited head",
      "bad_signature",
      13,
      () => tamperedDb((db) => setEvent(db, editedHead(at(13)))),
    ],
  ];
  it.each(cases)("%s: %s at seq %s, through the library and the CLI", async (_, kind, seq, makeDb) => {
    const db = makeDb();
    const store = openAuditStore({ path: db, readonly: true });
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(storeEvents(store, tally), {
      publicKeys: PUBLIC_KEYS,
      expectSealed: true,
    });
    store.close();
    const findings = report.chains.flatMap((c) => c.findings.map((f) => [f.kind, f.seq]));
    const run = await runCli(["verify", "--db", db, "--public-key", `${KEY_ID}=${keyFile}`, "--sealed"]);
    if (kind === "ok") {
      expect([findings, report.chains[0]?.events, report.chains[0]?.sealed]).toStrictEqual([[], 13, true]);
      expect([run.code, run.stderr]).toStrictEqual([0, ""]);
      expect(run.stdout).toContain("verified: 1 chain, no findings");
      return;
    }
    expect(findings[0]).toStrictEqual([kind, seq]);
    expect(run.code).toBe(VERIFY_EXIT_CODES[kind]);
    expect(run.stdout).toMatch(new RegExp(`^  ${kind} +seq ${seq}\\b`, "m"));
  });

  it("reports an unreadable stored event as modified (exit 9) and names its row", async () => {
    const db = tamperedDb((d) =>
      d.prepare("UPDATE events SET event = x'ff00' WHERE event_id = ?").run(at(3).eventId),
    );
    const run = await runCli(["verify", "--db", db, "--public-key", `${KEY_ID}=${keyFile}`, "--json"]);
    expect(run.code).toBe(VERIFY_EXIT_CODES.modified);
    const report = JSON.parse(run.stdout);
    expect(report.unreadable).toStrictEqual([
      { where: `row 3 (event ${at(3).eventId})`, reason: expect.stringContaining("not an AuditEvent") },
    ]);
    expect(
      report.chains[0].findings.map((f: { kind: string; seq: number }) => [f.kind, f.seq]),
    ).toStrictEqual([["missing", 3]]);
  });

  it("reports checkpoints of a key it was not given as unknown_key (exit 3), and is open without --sealed", async () => {
    const run = await runCli(["verify", "--db", baseDb]);
    expect(run.code).toBe(VERIFY_EXIT_CODES.unknown_key);
    expect(run.stdout).toContain("3 checkpoints (0 verified)");
    const open = tamperedDb((db) => deleteEvent(db, 13));
    const unsealed = await runCli(["verify", "--db", open, "--public-key", `${KEY_ID}=${keyFile}`]);
    expect([unsealed.code, unsealed.stdout]).toStrictEqual([
      0,
      expect.stringContaining("open: 2 events after the last checkpoint"),
    ]);
  });
});

describe.concurrent("grpc-audit verify on a real log file", () => {
  const cases: [string, Kind, number | undefined, () => string][] = [
    ["an untouched log", "ok", undefined, () => baseLog],
    ["an edited line", "modified", 7, () => tamperedLog((lines) => swap(lines, 7, edited(at(7))))],
    [
      "an edited line with a recomputed hash",
      "broken_link",
      8,
      () => tamperedLog((lines) => swap(lines, 7, editedAndRehashed(at(7)))),
    ],
    ["a deleted line", "missing", 7, () => tamperedLog((lines) => lines.filter((_, i) => i !== 6))],
    [
      "two lines swapped",
      "reordered",
      4,
      () => tamperedLog((l) => [...l.slice(0, 3), l[4] ?? "", l[3] ?? "", ...l.slice(5)]),
    ],
    ["the last lines cut", "truncated", 12, () => tamperedLog((lines) => lines.slice(0, 12))],
    [
      "a forged checkpoint line",
      "bad_signature",
      5,
      () => tamperedLog((lines) => swap(lines, 5, forgedCheckpoint(at(5)))),
    ],
    [
      "duplicated lines and other log output",
      "ok",
      undefined,
      () =>
        tamperedLog((lines) => [
          '{"level":30,"msg":"server started"}',
          "not json",
          ...lines.slice(0, 6),
          ...lines.slice(4),
        ]),
    ],
  ];
  it.each(cases)("%s: %s at seq %s, through the library and the CLI", async (_, kind, seq, makeLog) => {
    const log = makeLog();
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(logEvents(log, "audit", tally), {
      publicKeys: PUBLIC_KEYS,
      expectSealed: true,
    });
    const findings = report.chains.flatMap((c) => c.findings.map((f) => [f.kind, f.seq]));
    const run = await runCli(["verify", "--log", log, "--public-key", `${KEY_ID}=${keyFile}`, "--sealed"]);
    expect(tally.unreadable).toStrictEqual([]);
    if (kind === "ok") {
      expect(findings).toStrictEqual([]);
      expect([run.code, run.stderr]).toStrictEqual([0, ""]);
      return;
    }
    expect(findings[0]).toStrictEqual([kind, seq]);
    expect(run.code).toBe(VERIFY_EXIT_CODES[kind]);
    expect(run.stdout).toMatch(new RegExp(`^  ${kind} +seq ${seq}\\b`, "m"));
  });

  it("reads the event only from the line's own key: --log-key __proto__ finds no event, not every line modified", async () => {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const events = [];
    for await (const event of logEvents(baseLog, "__proto__", tally)) events.push(event);
    expect([events.length, tally.unreadable.length, tally.skippedLines > 0]).toStrictEqual([0, 0, true]);
  });

  it("counts duplicated lines and skips lines without an event", async () => {
    const log = tamperedLog((lines) => ["not json", ...lines, lines[2] ?? ""]);
    const run = await runCli(["verify", "--log", log, "--public-key", `${KEY_ID}=${keyFile}`, "--json"]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: true,
      skippedLines: 1,
      events: 14,
      chains: [{ duplicates: 1 }],
    });
  });
});

describe.concurrent("grpc-audit verify arguments", () => {
  it.each<[string, string[], number, string]>([
    ["a --public-key without =", ["--public-key", "k"], 2, "Use <keyId>=<pem file>."],
    [
      "a --public-key file that is not there",
      ["--public-key", "k=/nonexistent.pem"],
      2,
      "Cannot read /nonexistent.pem: ENOENT.",
    ],
    ["--log with --db", ["--log", "x.ndjson", "--db", "x.db"], 2, "cannot be used with --db"],
    [
      "a log that is not there",
      ["--log", "/nonexistent.ndjson"],
      1,
      "cannot read /nonexistent.ndjson: ENOENT",
    ],
    ["a store that is not there", ["--db", "/nonexistent.db"], 1, "no audit database at /nonexistent.db"],
  ])("refuses %s", async (_, args, code, message) => {
    const run = await runCli(["verify", ...args]);
    expect(run.code).toBe(code);
    expect(run.stderr).toContain(message);
  });

  it("refuses an encrypted private key, naming how to get its public key", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const encrypted = join(dir, "encrypted.pem");
    const { privateKey } = generateKeyPairSync("ed25519");
    writeFileSync(
      encrypted,
      privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pass phrase" }),
    );
    const run = await runCli(["verify", "--db", baseDb, "--public-key", `k=${encrypted}`]);
    expect([run.code, run.stderr]).toStrictEqual([
      2,
      expect.stringContaining(
        `${encrypted} holds an encrypted private key: give its public key (openssl pkey -in ${encrypted} -pubout).`,
      ),
    ]);
    expect(run.stderr).not.toContain("pass phrase");
  });

  it("refuses a key file of two PEM blocks (Node would read the first only)", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const two = join(dir, "two.pem");
    const pem = () => generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" });
    writeFileSync(two, `${pem()}${pem()}`);
    const run = await runCli(["verify", "--db", baseDb, "--public-key", `k=${two}`]);
    expect([run.code, run.stderr]).toStrictEqual([
      2,
      expect.stringContaining(
        `${two} holds 2 PEM blocks: give one key per file, with one --public-key <keyId>=<pem file> per key id.`,
      ),
    ]);
  });

  it("refuses a public key file with an RSA key", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const rsa = join(dir, "rsa.pem");
    writeFileSync(
      rsa,
      generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }),
    );
    const run = await runCli(["verify", "--db", baseDb, "--public-key", `k=${rsa}`]);
    expect([run.code, run.stderr]).toStrictEqual([
      2,
      expect.stringContaining("holds a rsa key, not Ed25519"),
    ]);
  });
});
