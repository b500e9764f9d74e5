/**
 * `verifyChains` over the sources `grpc-audit verify` reads — a real NDJSON log written by a real log
 * emitter, a real SQLite store — edited the way someone with write access to the file could: values
 * no Recorder writes, JSON that decodes to the same event, filter columns changed around their event.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { logEvents, type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEYS, recordMutations, SIGNING_KEY } from "./trail.js";

// One closed trail of 4 mutations (seqs 1-4) and the final checkpoint (seq 5), in a log and a store.
let dir: string;
let baseLog: string[];
let trail: AuditEvent[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verify-edited-"));
  const logPath = join(dir, "base.ndjson");
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory, createLogEmitter({ destination: logPath, sync: true })],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID },
  });
  recordMutations(recorder, 4);
  expect((await recorder.close()).ok).toBe(true);
  trail = [...memory.events];
  baseLog = readFileSync(logPath, "utf8").trimEnd().split("\n");
  expect(baseLog).toHaveLength(5);
});

type Edit = ((audit: Record<string, unknown>) => void) | "delete";

/**
 * Verifies a copy of the base log with lines (0-based) edited or deleted, as the CLI reads it: the chain
 * findings as "kind@seq", then the lines reported as modified.
 */
async function verifyEditedLog(edits: [number, Edit][]): Promise<string[]> {
  const lines: string[] = [];
  for (const [i, line] of baseLog.entries()) {
    const edit = edits.find(([index]) => index === i)?.[1];
    if (edit === "delete") continue;
    if (edit === undefined) {
      lines.push(line);
      continue;
    }
    const parsed = JSON.parse(line) as { audit: Record<string, unknown> };
    edit(parsed.audit);
    lines.push(JSON.stringify(parsed));
  }
  const path = join(dir, `edited-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  const tally: SourceTally = { unreadable: [], skippedLines: 0 };
  const report = await verifyChains(logEvents(path, "audit", tally), {
    publicKeys: PUBLIC_KEYS,
    expectSealed: true,
  });
  return outcome(report, tally);
}

function outcome(report: Awaited<ReturnType<typeof verifyChains>>, tally: SourceTally): string[] {
  return [
    ...report.chains.flatMap((chain) => chain.findings.map((finding) => `${finding.kind}@${finding.seq}`)),
    ...tally.unreadable.map((entry) => `modified ${entry.where}`),
  ];
}

describe("verify, on a log line holding a value no Recorder writes", () => {
  it.each([
    ["a negative schemaVersion", (audit: Record<string, unknown>) => (audit.schemaVersion = -1)],
    [
      "a negative request count",
      (audit: Record<string, unknown>) =>
        (audit.payload = { capture: "PAYLOAD_CAPTURE_DIGEST", requestCount: -3 }),
    ],
  ])(
    "reports %s as modified at its seq (it cannot be hashed), and checks the rest of the trail",
    async (_, edit) => {
      expect(await verifyEditedLog([[1, edit]])).toEqual(["modified@2"]);
      expect(
        await verifyEditedLog([
          [1, edit],
          [3, "delete"],
        ]),
      ).toEqual(["modified@2", "missing@4"]);
    },
  );

  it("reports a time that is not a time as a modified line, its seq missing from the chain", async () => {
    const edit = (audit: Record<string, unknown>) => (audit.occurredAt = "yesterday");
    expect(await verifyEditedLog([[1, edit]])).toEqual(["missing@2", "modified line 2"]);
  });
});

describe("verify, on a log line edited into another JSON of the same event", () => {
  it.each([
    [
      'a result turned to the text "false" (which the JSON reader takes as true)',
      (audit: Record<string, unknown>) => {
        expect(audit.result).toEqual({ success: true, code: "OK" });
        audit.result = { success: "false", code: "OK" };
      },
    ],
    [
      "a second detail added (which the JSON reader ignores)",
      (audit: Record<string, unknown>) => {
        expect(audit.resourceMutation).toBeDefined();
        audit.checkpoint = { headSeq: 1, keyId: KEY_ID, final: true };
      },
    ],
    ["a key the event does not have", (audit: Record<string, unknown>) => (audit.approvedBy = "root")],
  ])("reports %s as a modified line", async (_, edit) => {
    expect(await verifyEditedLog([[1, edit]])).toEqual(["missing@2", "modified line 2"]);
  });

  it("takes the same JSON with its keys in another order as the same line", async () => {
    const reordered = (audit: Record<string, unknown>) => {
      const entries = Object.entries(audit).reverse();
      for (const key of Object.keys(audit)) delete audit[key];
      Object.assign(audit, Object.fromEntries(entries));
    };
    expect(await verifyEditedLog([[1, reordered]])).toEqual([]);
  });
});

describe("verify, on a store row whose filter columns disagree with its event", () => {
  it.each([
    [
      "success and target_id",
      "UPDATE events SET success = 0, target_id = 'p-other' WHERE seq = 2",
      "success",
    ],
    ["actor_id", "UPDATE events SET actor_id = 'mallory' WHERE seq = 2", "actor_id"],
    ["event_type", "UPDATE events SET event_type = 'authn.result' WHERE seq = 2", "event_type"],
  ])("reports a row whose %s column was edited as modified, naming the column", async (_, sql, column) => {
    const path = join(dir, `columns-${Math.random().toString(36).slice(2)}.db`);
    const store = openAuditStore({ path });
    store.insert(trail);
    store.close();
    const db = new BetterSqlite3(path);
    db.prepare(sql).run();
    db.close();
    const reader = openAuditStore({ path, readonly: true });
    try {
      const tally: SourceTally = { unreadable: [], skippedLines: 0 };
      const report = await verifyChains(storeEvents(reader, tally), {
        publicKeys: PUBLIC_KEYS,
        expectSealed: true,
      });
      // The event itself is intact and still in the chain; the row around it is reported.
      expect(outcome(report, tally)).toEqual([`modified row 2 (event ${trail[1]?.eventId})`]);
      expect(tally.unreadable[0]?.reason).toContain(`its ${column} column does not match its event`);
      expect(report.chains[0]?.events).toBe(5);
    } finally {
      reader.close();
    }
  });
});
