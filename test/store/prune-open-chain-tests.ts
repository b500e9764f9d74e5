/**
 * The sequence of review R69: a signed Recorder that is still open has stored only events older than
 * a prune's cutoff (1,200 mutations: seqs 1-1202, checkpoints at 501 and 1002, no final one yet); then
 * it records 100 more after the cutoff and closes. And that of review R73: an ingester stores the
 * final checkpoint before a backlog of the same chain, and of review R77: a backlog in the middle of a
 * chain that also has newer events. Run by the SQLite and PostgreSQL tests through
 * the `grpc-audit` command, as an operator would: `pruneOfOpenChainTests`.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { KEY_ID, PUBLIC_KEY, recordMutations, SIGNING_KEY } from "../chain/trail.js";
import { runCli, tempDir } from "../cli/helpers.js";

export const CUTOFF = "2026-12-01T00:00:00.000Z";
const CUTOFF_MS = Date.parse(CUTOFF);

/** A signed Recorder whose clock starts an hour before the cutoff and ticks a millisecond a reading. */
export function openChainWriter() {
  const memory = createMemoryEmitter();
  let clock = CUTOFF_MS - 3_600_000;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(clock++),
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 500 },
  });
  const take = () => {
    const events = [...memory.events];
    memory.clear();
    return events;
  };
  return {
    /** Records `count` mutations from `atMs` on; returns the events recorded (checkpoints included). */
    record(count: number, atMs: number): AuditEvent[] {
      clock = atMs;
      recordMutations(recorder, count);
      return take();
    },
    /** Closes the Recorder; returns its last events (the final checkpoint). */
    async close(): Promise<AuditEvent[]> {
      await recorder.close();
      return take();
    },
  };
}

/** `grpc-audit prune --before CUTOFF --json` (with `--dry-run`), its report as printed. */
export async function pruneJson(db: string, dryRun: boolean): Promise<unknown> {
  const run = await runCli([
    "prune",
    "--db",
    db,
    "--before",
    CUTOFF,
    "--json",
    ...(dryRun ? ["--dry-run"] : []),
  ]);
  if (run.code !== 0 || run.stderr !== "") throw new Error(`prune: exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** `grpc-audit verify --sealed` with the signing key (and `extra` arguments), as JSON and as text. */
export async function verifySealed(db: string, extra: string[] = []) {
  const keyFile = join(tempDir(), "key.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  const args = ["verify", "--db", db, "--public-key", `${KEY_ID}=${keyFile}`, "--sealed", ...extra];
  const [json, text] = await Promise.all([runCli([...args, "--json"]), runCli(args)]);
  return { code: json.code, report: JSON.parse(json.stdout), textCode: text.code, text: text.stdout };
}

/** A fresh store under test: its `--db` argument, and its insert and close. */
export interface StoreUnderTest {
  db: string;
  insert(events: AuditEvent[]): unknown;
  close(): unknown;
}

const HOUR_BEFORE = CUTOFF_MS - 3_600_000;

/** The prune report of CUTOFF, as printed, both as `--dry-run` and as done. */
async function expectPruneReport(db: string, report: Record<string, unknown>): Promise<void> {
  const whole = { ...report, unsignedChains: 0, unchained: 0, before: CUTOFF, cutChains: false };
  expect(await pruneJson(db, true)).toStrictEqual({ ...whole, dryRun: true });
  expect(await pruneJson(db, false)).toStrictEqual({ ...whole, dryRun: false });
}

const NOTHING_KEPT = { anchors: 0, afterLastCheckpoint: 0, behindNewer: 0 };

/**
 * `verify --sealed` (with `extra`) finds one chain, sealed, without findings: seqs [first, last,
 * events], pruned up to the checkpoint at its first seq, the anchor. Returns the run and the chain.
 */
async function expectPrunedAndAnchored(db: string, seqs: [number, number, number], extra: string[] = []) {
  const verify = await verifySealed(db, extra);
  expect(verify.code).toBe(0);
  expect(verify.report.chains).toHaveLength(1);
  const [chain] = verify.report.chains;
  expect({
    seqs: [chain.firstSeq, chain.lastSeq, chain.events],
    sealed: chain.sealed,
    pruned: chain.pruned,
    findings: chain.findings,
  }).toStrictEqual({
    seqs,
    sealed: true,
    pruned: { toSeq: seqs[0] - 1, anchorSeq: seqs[0], keyId: KEY_ID },
    findings: [],
  });
  return { verify, chain };
}

/** The tests of reviews R69, R73 and R77 on the store `newStore` opens (the plan is the same for every store). */
export function pruneOfOpenChainTests(newStore: () => Promise<StoreUnderTest>): void {
  it("keeps the open chain's last older checkpoint: verify then finds it pruned, anchored, and sealed", async () => {
    const writer = openChainWriter();
    const store = await newStore();
    try {
      await store.insert(writer.record(1200, HOUR_BEFORE)); // seqs 1-1202, checkpoints at 501 and 1002
      // Seqs 1-1001 go; the checkpoint at 1002 stays as the anchor, and the 200 events after it.
      await expectPruneReport(store.db, {
        deleted: 1001,
        kept: { anchors: 1, afterLastCheckpoint: 200, behindNewer: 0 },
        anchoredChains: 1,
        wholeChains: 0,
      });
      await store.insert(writer.record(100, CUTOFF_MS + 1000)); // seqs 1203-1302
      await store.insert(await writer.close()); // the final checkpoint, seq 1303
    } finally {
      await store.close();
    }
    const { verify, chain } = await expectPrunedAndAnchored(store.db, [1002, 1303, 302]);
    expect([chain.checkpoints, chain.verifiedCheckpoints]).toStrictEqual([2, 2]);
    expect(verify.textCode).toBe(0);
    expect(verify.text).toContain(
      `  pruned        seqs 1-1001: anchored by the checkpoint at seq 1002, signed by key ${KEY_ID} (not a finding)\n`,
    );
    expect(verify.text).not.toContain("missing");
  });

  it("still deletes whole a chain that ended in its final checkpoint, every event older", async () => {
    const writer = openChainWriter();
    const store = await newStore();
    try {
      await store.insert(writer.record(1200, HOUR_BEFORE));
      await store.insert(await writer.close()); // the final checkpoint, seq 1203
    } finally {
      await store.close();
    }
    await expectPruneReport(store.db, {
      deleted: 1203,
      kept: NOTHING_KEPT,
      anchoredChains: 0,
      wholeChains: 1,
    });
    expect((await verifySealed(store.db)).report.chains).toStrictEqual([]);
  });

  it("keeps a chain whose final checkpoint was stored before a backlog of it: the backlog then verifies, anchored", async () => {
    const writer = openChainWriter();
    const events = writer.record(1200, HOUR_BEFORE); // seqs 1-1202, checkpoints at 501 and 1002
    const final = await writer.close(); // seq 1203
    const store = await newStore();
    try {
      // An ingester stores seqs 1-1099 and the final checkpoint; 1100-1202 come again after the prune.
      await store.insert(events.slice(0, 1099));
      await store.insert(final);
      // Seqs 1100-1202 are not stored, so the chain has not ended: seqs 1-1001 go, the checkpoint at
      // 1002 stays as the anchor, with 1003-1099 and the final checkpoint after it.
      await expectPruneReport(store.db, {
        deleted: 1001,
        kept: { anchors: 1, afterLastCheckpoint: 98, behindNewer: 0 },
        anchoredChains: 1,
        wholeChains: 0,
      });
      await store.insert(events.slice(1099));
    } finally {
      await store.close();
    }
    // The backlog is stored after seq 1203.
    await expectPrunedAndAnchored(store.db, [1002, 1203, 202], ["--ignore-order"]);
    // Now stored without a gap from its anchor to its final checkpoint: the next prune takes it whole.
    await expectPruneReport(store.db, {
      deleted: 202,
      kept: NOTHING_KEPT,
      anchoredChains: 0,
      wholeChains: 1,
    });
  });

  it("cuts a chain with newer events before its first missing seq: the backlog then verifies, anchored", async () => {
    const writer = openChainWriter();
    const older = writer.record(1200, HOUR_BEFORE); // seqs 1-1202, checkpoints at 501 and 1002
    const newer = writer.record(100, CUTOFF_MS + 1000); // seqs 1203-1302
    const final = await writer.close(); // seq 1303
    const isBacklog = (event: AuditEvent) =>
      Number(event.chain?.seq) >= 700 && Number(event.chain?.seq) < 800;
    const store = await newStore();
    try {
      // An ingester stores all but seqs 700-799, which come after the prune.
      await store.insert(older.filter((event) => !isBacklog(event)));
      await store.insert(newer);
      await store.insert(final);
      // Seq 700 is missing: seqs 1-500 go, the checkpoint at 501 stays as the anchor, with 502-699 and
      // 800-1202 after it (the checkpoint at 1002 follows the gap, so the chain cannot be cut there).
      await expectPruneReport(store.db, {
        deleted: 500,
        kept: { anchors: 1, afterLastCheckpoint: 601, behindNewer: 0 },
        anchoredChains: 1,
        wholeChains: 0,
      });
      await store.insert(older.filter(isBacklog));
    } finally {
      await store.close();
    }
    // The backlog is stored after seq 1303.
    await expectPrunedAndAnchored(store.db, [501, 1303, 803], ["--ignore-order"]);
  });
}
