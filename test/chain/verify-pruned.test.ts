// A chain pruned up to a signed checkpoint (what `grpc-audit prune` leaves) verifies with a `pruned`
// note; a prefix cut anywhere else, or a checkpoint that cannot vouch for it, stays `missing`.
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { edited, forgedCheckpoint, rehashed } from "./tamper.js";
import { KEY_ID, PUBLIC_KEYS, recordTrail } from "./trail.js";

// 10 mutations with a checkpoint every 4: seqs 1-4 mutations, 5 checkpoint, 6-9, 10 checkpoint, 11-12, 13 final.
const trail = await recordTrail(10, { checkpointEvery: 4 });
const from = (seq: number): AuditEvent[] => trail.slice(seq - 1);

async function check(events: readonly AuditEvent[], publicKeys = PUBLIC_KEYS) {
  const report = await verifyChains(events, { publicKeys, expectSealed: true });
  const [chain] = report.chains;
  return {
    ok: report.ok,
    pruned: chain?.pruned,
    findings: chain?.findings.map(({ kind, seq, toSeq }) => [kind, seq, toSeq]),
  };
}

describe("verifyChains on a pruned chain", () => {
  it("takes a chain that starts at a verified checkpoint as pruned up to it: a note, no finding", async () => {
    expect(await check(from(5))).toStrictEqual({
      ok: true,
      pruned: { toSeq: 4, anchorSeq: 5, keyId: KEY_ID },
      findings: [],
    });
    // Pruned again, up to the next checkpoint; then to the final one, which seals it alone.
    expect((await check(from(10))).pruned).toStrictEqual({ toSeq: 9, anchorSeq: 10, keyId: KEY_ID });
    expect(await check(from(13))).toStrictEqual({
      ok: true,
      pruned: { toSeq: 12, anchorSeq: 13, keyId: KEY_ID },
      findings: [],
    });
  });

  it("reports a prefix cut elsewhere than right before a checkpoint as missing", async () => {
    expect(await check(from(4))).toStrictEqual({
      ok: false,
      pruned: undefined,
      findings: [["missing", 1, 3]],
    });
    expect((await check(from(6))).findings).toStrictEqual([["missing", 1, 5]]);
  });

  it("reports a gap before a checkpoint in the middle of the chain as missing: only a prefix is pruned", async () => {
    const events = [...trail.slice(0, 5), ...from(10)]; // seqs 6-9 deleted, 10 is a checkpoint
    expect(await check(events)).toStrictEqual({
      ok: false,
      pruned: undefined,
      findings: [["missing", 6, 9]],
    });
  });

  it("keeps the prefix missing when no key given checks the checkpoint, or the key does not verify it", async () => {
    expect(await check(from(5), new Map())).toStrictEqual({
      ok: false,
      pruned: undefined,
      findings: [
        ["missing", 1, 4],
        ["unknown_key", 5, undefined],
        ["unknown_key", 10, undefined],
        ["unknown_key", 13, undefined],
        ["truncated", 13, undefined], // its final checkpoint is not verified either
      ],
    });
    const other = new Map([[KEY_ID, generateKeyPairSync("ed25519").publicKey]]);
    expect((await check(from(5), other)).findings?.slice(0, 2)).toStrictEqual([
      ["missing", 1, 4],
      ["bad_signature", 5, undefined],
    ]);
  });

  it("keeps the prefix missing when the first checkpoint is forged, edited, or its link names another head", async () => {
    const forged = [forgedCheckpoint(trail[4] as AuditEvent), ...from(6)];
    expect((await check(forged)).findings?.slice(0, 2)).toStrictEqual([
      ["missing", 1, 4],
      ["bad_signature", 5, undefined],
    ]);
    const [first] = from(13);
    if (first?.chain === undefined) throw new Error("no seq 13");
    // Its signature covers the whole checkpoint event (statement v2): the edit breaks it too.
    expect((await check([edited(first)])).findings).toStrictEqual([
      ["missing", 1, 12],
      ["modified", 13, undefined],
      ["bad_signature", 13, undefined],
      ["truncated", 13, undefined],
    ]);
    // The signature and head hash kept, the event's own link and hash changed: it no longer follows
    // the head its signature names, so it vouches for nothing.
    const relinked = rehashed({ ...first, chain: { ...first.chain, prevHash: "0".repeat(64) } });
    expect(await check([relinked])).toStrictEqual({
      ok: false,
      pruned: undefined,
      findings: [
        ["missing", 1, 12],
        ["bad_signature", 13, undefined],
        ["truncated", 13, undefined], // the final checkpoint that did not verify seals nothing
      ],
    });
  });
});
