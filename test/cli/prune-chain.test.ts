// What `prune` deletes from a chained trail, and what `verify` says afterwards (docs/store-cli.md):
// each chain loses only a prefix of old events that ends right before a signed checkpoint, which is
// kept, so verify notes the prefix as pruned and finds nothing; `--cut-chains` deletes every older
// event, and verify then reports what is gone as `missing`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { ChainOptions } from "../../src/chain/chain-options.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEY, SIGNING_KEY } from "../chain/trail.js";
import { CUTOFF, openChainWriter } from "../store/prune-open-chain-tests.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const MINUTE = 60_000;

/**
 * A store of one sealed chain: mutation i (1 to 10) at minute i, a checkpoint after every 4 events
 * (seqs 5 and 10, at minutes 4 and 8) and the final one (seq 13, minute 10). With `lateStamp`,
 * mutation 8 (seq 9) carries the time its call started, minute 2.5, as a long call's event may.
 * `signed: false`: a Recorder without a signing key, whose chain holds mutations 1 to 10 alone.
 * `closed: false`: a server killed before `close()`, whose chain ends at seq 12, with no final checkpoint.
 */
async function chainedStore(
  lateStamp: boolean,
  signed = true,
  closed = true,
): Promise<{ db: string; keyArg: string }> {
  const dir = tempDir();
  const keyFile = join(dir, "key.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  const memory = createMemoryEmitter();
  let now = T0;
  const chain: ChainOptions = signed ? { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 4 } : {};
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(now),
    chain,
  });
  for (let i = 1; i <= 10; i++) {
    now = T0 + i * MINUTE;
    recorder.recordResourceMutation({
      mutation: "update",
      resourceType: "project",
      resourceId: `p-${i}`,
      ...(lateStamp && i === 8 ? { occurredAt: new Date(T0 + 2.5 * MINUTE) } : {}),
    });
  }
  if (closed) await recorder.close();
  const db = join(dir, "audit.db");
  const store = openAuditStore({ path: db });
  store.insert(memory.events);
  store.close();
  return { db, keyArg: `${KEY_ID}=${keyFile}` };
}

async function verifyStore(db: string, keyArg: string) {
  const verify = await runCli(["verify", "--db", db, "--public-key", keyArg, "--json"]);
  const [chain] = JSON.parse(verify.stdout).chains;
  return {
    exitCode: verify.code,
    seqs: [chain.firstSeq, chain.lastSeq],
    checkpoints: [chain.checkpoints, chain.verifiedCheckpoints],
    pruned: chain.pruned,
    findings: chain.findings.map((f: { kind: string; seq: number; toSeq: number }) => [
      f.kind,
      f.seq,
      f.toSeq,
    ]),
  };
}

async function pruneThenVerify(lateStamp: boolean, before: string, extra: string[] = [], signed = true) {
  const { db, keyArg } = await chainedStore(lateStamp, signed);
  const prune = await runCli(["prune", "--db", db, "--before", before, "--json", ...extra]);
  expect([prune.code, prune.stderr]).toStrictEqual([0, ""]);
  const { deleted, kept, anchoredChains, wholeChains, unsignedChains } = JSON.parse(prune.stdout);
  return {
    prune: { deleted, kept, anchoredChains, wholeChains, unsignedChains },
    verify: await verifyStore(db, keyArg),
  };
}

const NOTHING_KEPT = { anchors: 0, afterLastCheckpoint: 0, behindNewer: 0 };

/** Prune's words for `kept.afterLastCheckpoint`. */
const NOT_YET_CUT =
  "that no checkpoint their chain can be cut at follows yet (a chain is cut at its last checkpoint before that time and before its first missing seq; a later prune deletes them once one follows them: a backlog still to come fills a gap, a hand-deleted seq never does, and a chain whose server was killed gets no final checkpoint, so its last events stay)";

describe.concurrent("grpc-audit prune on a chained trail, then verify", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  it("deletes a chain's oldest events up to a checkpoint, which it keeps: verify notes them as pruned", async () => {
    // Before minute 5.5: mutations 1-5 (seqs 1-4 and 6) and the checkpoint of minute 4 (seq 5). The
    // prefix goes up to that checkpoint; seq 6 follows it and waits for the checkpoint of minute 8.
    expect(await pruneThenVerify(false, "2026-01-01T00:05:30Z")).toStrictEqual({
      prune: {
        deleted: 4,
        kept: { anchors: 1, afterLastCheckpoint: 1, behindNewer: 0 },
        anchoredChains: 1,
        wholeChains: 0,
        unsignedChains: 0,
      },
      verify: {
        exitCode: 0,
        seqs: [5, 13],
        checkpoints: [3, 3],
        pruned: { toSeq: 4, anchorSeq: 5, keyId: KEY_ID },
        findings: [],
      },
    });
  });

  it("keeps an event stamped earlier than those before it in its chain: no gap in the middle", async () => {
    expect(await pruneThenVerify(true, "2026-01-01T00:05:30Z")).toStrictEqual({
      prune: {
        deleted: 4,
        kept: { anchors: 1, afterLastCheckpoint: 1, behindNewer: 1 },
        anchoredChains: 1,
        wholeChains: 0,
        unsignedChains: 0,
      },
      verify: {
        exitCode: 0,
        seqs: [5, 13],
        checkpoints: [3, 3],
        pruned: { toSeq: 4, anchorSeq: 5, keyId: KEY_ID },
        findings: [],
      },
    });
  });

  it("prunes again to a later checkpoint, and says so in words", async () => {
    const { db, keyArg } = await chainedStore(true);
    expect((await runCli(["prune", "--db", db, "--before", "2026-01-01T00:05:30Z"])).code).toBe(0);
    const dry = await runCli(["prune", "--db", db, "--before", "2026-01-01T00:09:00Z", "--dry-run"]);
    const run = await runCli(["prune", "--db", db, "--before", "2026-01-01T00:09:00Z"]);
    expect([dry.code, dry.stderr]).toStrictEqual([0, ""]);
    expect(dry.stdout).toBe(
      run.stdout
        .replace("5 events deleted", "5 events would be deleted")
        .replace(" kept:", " would be kept:"),
    );
    // Seqs 5-9 go (the late seq 9 with them); the checkpoint of minute 8 (seq 10) stays.
    expect(run.stdout).toBe(
      "5 events deleted (occurred before 2026-01-01T00:09:00.000Z)\n" +
        "1 chain cut right before a signed checkpoint that stays: verify notes the deleted seqs as pruned\n" +
        "1 older event kept: 1 checkpoint a pruned chain starts from; --cut-chains deletes them\n",
    );
    const verify = await runCli(["verify", "--db", db, "--public-key", keyArg, "--sealed"]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(
      `  pruned        seqs 1-9: anchored by the checkpoint at seq 10, signed by key ${KEY_ID} (not a finding)\n`,
    );
  });

  it("says a sealed chain whose every event is older went whole, not that a checkpoint stays", async () => {
    const { db } = await chainedStore(false);
    const run = await runCli(["prune", "--db", db, "--before", "2026-06-01T00:00:00Z"]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(run.stdout).toBe(
      "13 events deleted (occurred before 2026-06-01T00:00:00.000Z)\n" +
        "1 chain deleted whole, every event of it older: nothing of it is left to verify\n",
    );
  });

  it("says that a killed server's chain keeps its last events on every prune, until --cut-chains", async () => {
    const { db } = await chainedStore(false, true, false);
    const prune = () => runCli(["prune", "--db", db, "--before", "2026-06-01T00:00:00Z"]);
    const first = await prune();
    const second = await prune();
    expect([first.code, first.stderr, second.code, second.stderr]).toStrictEqual([0, "", 0, ""]);
    const kept = `3 older events kept: 1 checkpoint a pruned chain starts from; 2 ${NOT_YET_CUT}; --cut-chains deletes them\n`;
    // Seqs 1-9 go; the checkpoint at seq 10 stays, with seqs 11 and 12, then and on the next prune.
    expect(first.stdout).toBe(
      "9 events deleted (occurred before 2026-06-01T00:00:00.000Z)\n" +
        "1 chain cut right before a signed checkpoint that stays: verify notes the deleted seqs as pruned\n" +
        kept,
    );
    expect(second.stdout).toBe(`0 events deleted (occurred before 2026-06-01T00:00:00.000Z)\n${kept}`);
  });

  it("says that events before a hand-deleted gap's checkpoint stay, not only those after the last checkpoint", async () => {
    // Review R77: seqs 1-1202 all older, checkpoints at 501 and 1002, seqs 100-199 deleted by hand.
    const events = openChainWriter().record(1200, Date.parse(CUTOFF) - 3_600_000);
    const seq = (event: AuditEvent) => Number(event.chain?.seq);
    const db = join(tempDir(), "audit.db");
    const store = openAuditStore({ path: db });
    store.insert(events.filter((event) => seq(event) < 100 || seq(event) >= 200));
    store.close();
    const run = await runCli(["prune", "--db", db, "--before", CUTOFF]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    // No checkpoint lies below seq 100: nothing goes, and the 1,000 events after the gap never will.
    expect(run.stdout).toBe(
      `0 events deleted (occurred before ${CUTOFF})\n` +
        `1102 older events kept: 1102 ${NOT_YET_CUT}; --cut-chains deletes them\n`,
    );
  });

  it("--cut-chains deletes every older event, checkpoints included: verify reports them missing", async () => {
    expect(await pruneThenVerify(true, "2026-01-01T00:05:30Z", ["--cut-chains"])).toStrictEqual({
      prune: { deleted: 7, kept: NOTHING_KEPT, anchoredChains: 0, wholeChains: 0, unsignedChains: 0 },
      verify: {
        exitCode: 6,
        seqs: [7, 13],
        checkpoints: [2, 2],
        pruned: undefined,
        findings: [
          ["missing", 1, 6],
          ["missing", 9, 9],
        ],
      },
    });
  });

  it("cuts a chain without checkpoints at its first newer event: missing from seq 1, no gap further on", async () => {
    expect(await pruneThenVerify(true, "2026-01-01T00:05:30Z", [], false)).toStrictEqual({
      prune: {
        deleted: 5,
        kept: { anchors: 0, afterLastCheckpoint: 0, behindNewer: 1 },
        anchoredChains: 0,
        wholeChains: 0,
        unsignedChains: 1,
      },
      verify: {
        exitCode: 6,
        seqs: [6, 10],
        checkpoints: [0, 0],
        pruned: undefined,
        findings: [["missing", 1, 5]],
      },
    });
  });
});
