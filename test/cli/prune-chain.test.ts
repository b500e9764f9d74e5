// What `prune` deletes from a chained trail, and what `verify` says afterwards (docs/store-cli.md):
// every event before the time, checkpoints included, so a chain loses its oldest events (`missing`
// from seq 1), and an event stamped earlier than those before it in its chain leaves a gap in the middle.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEY, SIGNING_KEY } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const MINUTE = 60_000;

/**
 * A store of one sealed chain: mutation i (1 to 10) at minute i, a checkpoint after every 4 events
 * (seqs 5 and 10) and the final one (seq 13). With `lateStamp`, mutation 8 (seq 9) carries the time
 * its call started, minute 2.5, as a long call's event may.
 */
async function chainedStore(lateStamp: boolean): Promise<{ db: string; keyArg: string }> {
  const dir = tempDir();
  const keyFile = join(dir, "key.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  const memory = createMemoryEmitter();
  let now = T0;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(now),
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 4 },
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
  await recorder.close();
  const db = join(dir, "audit.db");
  const store = openAuditStore({ path: db });
  store.insert(memory.events);
  store.close();
  return { db, keyArg: `${KEY_ID}=${keyFile}` };
}

async function pruneThenVerify(lateStamp: boolean, before: string) {
  const { db, keyArg } = await chainedStore(lateStamp);
  const prune = await runCli(["prune", "--db", db, "--before", before, "--json"]);
  expect([prune.code, prune.stderr]).toStrictEqual([0, ""]);
  const verify = await runCli(["verify", "--db", db, "--public-key", keyArg, "--json"]);
  const report = JSON.parse(verify.stdout);
  const [chain] = report.chains;
  return {
    deleted: JSON.parse(prune.stdout).deleted,
    exitCode: verify.code,
    seqs: [chain.firstSeq, chain.lastSeq],
    checkpoints: [chain.checkpoints, chain.verifiedCheckpoints],
    missing: chain.findings.map((f: { kind: string; seq: number; toSeq: number }) => [
      f.kind,
      f.seq,
      f.toSeq,
    ]),
  };
}

describe.concurrent("grpc-audit prune on a chained trail, then verify", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  it("deletes a chain's oldest events, its first checkpoint with them: `missing` from seq 1", async () => {
    // Before minute 5.5: mutations 1-5 (seqs 1-4 and 6) and the checkpoint of minute 4 (seq 5).
    expect(await pruneThenVerify(false, "2026-01-01T00:05:30Z")).toStrictEqual({
      deleted: 6,
      exitCode: 6,
      seqs: [7, 13],
      checkpoints: [2, 2],
      missing: [["missing", 1, 6]],
    });
  });

  it("deletes an event stamped earlier than those before it in its chain: a gap in the middle", async () => {
    expect(await pruneThenVerify(true, "2026-01-01T00:05:30Z")).toStrictEqual({
      deleted: 7,
      exitCode: 6,
      seqs: [7, 13],
      checkpoints: [2, 2],
      missing: [
        ["missing", 1, 6],
        ["missing", 9, 9],
      ],
    });
  });
});
