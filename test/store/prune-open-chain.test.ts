// Review R69: `prune` while a signed chain's Recorder is still open, every event it stored so far
// older than the cutoff. The chain has no final checkpoint, so more may follow: prune keeps its last
// older checkpoint as the anchor, and `verify` then notes the prefix as pruned instead of reporting it
// missing. A chain that ended in its final checkpoint, every event older, still goes whole.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, tempDir } from "../cli/helpers.js";
import { CUTOFF, openChainWriter, pruneJson, verifySealed } from "./open-chain-writer.js";

const HOUR_BEFORE = Date.parse(CUTOFF) - 3_600_000;
const KEPT_NOTHING = { anchors: 0, afterLastCheckpoint: 0, behindNewer: 0 };

describe.concurrent("grpc-audit prune on a SQLite store while a signed chain is still written", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  it("keeps the open chain's last older checkpoint: verify then finds it pruned, anchored, and sealed", async () => {
    const db = join(tempDir(), "audit.db");
    const writer = openChainWriter();
    const store = openAuditStore({ path: db });
    try {
      store.insert(writer.record(1200, HOUR_BEFORE)); // seqs 1-1202, checkpoints at 501 and 1002
      // Seqs 1-1001 go; the checkpoint at 1002 stays as the anchor, and the 200 events after it.
      const report = {
        deleted: 1001,
        kept: { anchors: 1, afterLastCheckpoint: 200, behindNewer: 0 },
        anchoredChains: 1,
        wholeChains: 0,
        unsignedChains: 0,
        unchained: 0,
        before: CUTOFF,
        cutChains: false,
      };
      expect(await pruneJson(db, true)).toStrictEqual({ ...report, dryRun: true });
      expect(await pruneJson(db, false)).toStrictEqual({ ...report, dryRun: false });
      store.insert(writer.record(100, Date.parse(CUTOFF) + 1000)); // seqs 1203-1302
      store.insert(await writer.close()); // the final checkpoint, seq 1303
    } finally {
      store.close();
    }
    const verify = await verifySealed(db);
    expect(verify.code).toBe(0);
    const [chain] = verify.report.chains;
    expect(verify.report.chains).toHaveLength(1);
    expect({
      seqs: [chain.firstSeq, chain.lastSeq, chain.events],
      checkpoints: [chain.checkpoints, chain.verifiedCheckpoints],
      sealed: chain.sealed,
      pruned: chain.pruned,
      findings: chain.findings,
    }).toStrictEqual({
      seqs: [1002, 1303, 302],
      checkpoints: [2, 2],
      sealed: true,
      pruned: { toSeq: 1001, anchorSeq: 1002, keyId: KEY_ID },
      findings: [],
    });
    expect(verify.textCode).toBe(0);
    expect(verify.text).toContain(
      `  pruned        seqs 1-1001: anchored by the checkpoint at seq 1002, signed by key ${KEY_ID} (not a finding)\n`,
    );
    expect(verify.text).not.toContain("missing");
  });

  it("still deletes whole a chain that ended in its final checkpoint, every event older", async () => {
    const db = join(tempDir(), "audit.db");
    const writer = openChainWriter();
    const store = openAuditStore({ path: db });
    try {
      store.insert(writer.record(1200, HOUR_BEFORE));
      store.insert(await writer.close()); // the final checkpoint, seq 1203
    } finally {
      store.close();
    }
    const report = {
      deleted: 1203,
      kept: KEPT_NOTHING,
      anchoredChains: 0,
      wholeChains: 1,
      unsignedChains: 0,
      unchained: 0,
      before: CUTOFF,
      cutChains: false,
    };
    expect(await pruneJson(db, true)).toStrictEqual({ ...report, dryRun: true });
    expect(await pruneJson(db, false)).toStrictEqual({ ...report, dryRun: false });
    expect((await verifySealed(db)).report.chains).toStrictEqual([]);
  });
});
