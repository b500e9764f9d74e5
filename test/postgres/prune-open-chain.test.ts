// Review R69 on the PostgreSQL store: `prune` while a signed chain's Recorder is still open, every
// event it stored so far older than the cutoff, keeps the chain's last older checkpoint as the anchor
// (the plan is the SQLite store's); `verify` then notes the prefix as pruned instead of missing. A
// chain that ended in its final checkpoint, every event older, still goes whole.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { KEY_ID } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";
import { CUTOFF, openChainWriter, pruneJson, verifySealed } from "../store/open-chain-writer.js";

const HOUR_BEFORE = Date.parse(CUTOFF) - 3_600_000;

describe("grpc-audit prune on a PostgreSQL store while a signed chain is still written", () => {
  let server: PostgresServer;
  beforeAll(async () => {
    [server] = await Promise.all([startPostgresServer(), ensureBuilt()]);
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await server?.stop();
  });

  it("keeps the open chain's last older checkpoint: verify then finds it pruned, anchored, and sealed", async () => {
    const db = await server.createDatabase();
    const writer = openChainWriter();
    const store = await openPostgresStore({ connectionString: db });
    try {
      await store.insert(writer.record(1200, HOUR_BEFORE)); // seqs 1-1202, checkpoints at 501 and 1002
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
      await store.insert(writer.record(100, Date.parse(CUTOFF) + 1000)); // seqs 1203-1302
      await store.insert(await writer.close()); // the final checkpoint, seq 1303
    } finally {
      await store.close();
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
    const db = await server.createDatabase();
    const writer = openChainWriter();
    const store = await openPostgresStore({ connectionString: db });
    try {
      await store.insert(writer.record(1200, HOUR_BEFORE));
      await store.insert(await writer.close()); // the final checkpoint, seq 1203
    } finally {
      await store.close();
    }
    const report = {
      deleted: 1203,
      kept: { anchors: 0, afterLastCheckpoint: 0, behindNewer: 0 },
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
