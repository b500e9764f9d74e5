import { describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import type { ChainFinding } from "../../src/chain/verify-types.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { edited, editedAndRehashed, editedHead, forgedCheckpoint, rehashed } from "./tamper.js";
import { PUBLIC_KEYS, recordTrail } from "./trail.js";

// 10 mutations with a checkpoint every 4: seqs 1-4 mutations, 5 checkpoint, 6-9, 10 checkpoint, 11-12, 13 final.
const trail = await recordTrail(10, { checkpointEvery: 4 });
const at = (seq: number): AuditEvent => {
  const event = trail[seq - 1];
  if (event === undefined) throw new Error(`no seq ${seq}`);
  return event;
};
const id = (seq: number) => at(seq).eventId;

async function findings(
  events: readonly AuditEvent[],
  expectSealed = true,
): Promise<Partial<ChainFinding>[]> {
  const report = await verifyChains(events, { publicKeys: PUBLIC_KEYS, expectSealed });
  expect(report.chains).toHaveLength(1);
  return report.chains[0]?.findings.map(({ kind, seq, eventId }) => ({ kind, seq, eventId })) ?? [];
}
const replace = (seq: number, event: AuditEvent) => trail.map((e, i) => (i === seq - 1 ? event : e));

describe("verifyChains", () => {
  it("verifies an untouched, closed trail", async () => {
    expect(trail).toHaveLength(13);
    const report = await verifyChains(trail, { publicKeys: PUBLIC_KEYS, expectSealed: true });
    expect(report).toMatchObject({ ok: true, events: 13, unchained: 0 });
    expect(report.chains[0]).toMatchObject({
      service: "projects",
      events: 13,
      firstSeq: 1,
      lastSeq: 13,
      checkpoints: 3,
      verifiedCheckpoints: 3,
      sealed: true,
      unsealed: 0,
      duplicates: 0,
      findings: [],
    });
  });

  it("finds an edited event as modified", async () => {
    expect(await findings(replace(7, edited(at(7))))).toStrictEqual([
      { kind: "modified", seq: 7, eventId: id(7) },
    ]);
  });

  it("finds an edited event with a recomputed hash by the next link", async () => {
    expect(await findings(replace(7, editedAndRehashed(at(7))))).toStrictEqual([
      { kind: "broken_link", seq: 8, eventId: id(8) },
    ]);
  });

  it("finds a deleted event as missing, and deleted ones in a row as one range", async () => {
    expect(await findings(trail.filter((_, i) => i !== 6))).toStrictEqual([
      { kind: "missing", seq: 7, eventId: "" },
    ]);
    const report = await verifyChains(trail.slice(3), { publicKeys: PUBLIC_KEYS });
    expect(report.chains[0]?.findings).toStrictEqual([
      { kind: "missing", seq: 1, toSeq: 3, eventId: "", detail: "seqs 1 to 3 are missing" },
    ]);
  });

  it("finds a moved event as reordered, only that one", async () => {
    const moved = [...trail.slice(0, 1), ...trail.slice(2, 8), at(2), ...trail.slice(8)];
    expect(await findings(moved)).toStrictEqual([{ kind: "reordered", seq: 2, eventId: id(2) }]);
  });

  it("finds a trail cut after its last checkpoint as truncated when it must be sealed, as open otherwise", async () => {
    const cut = trail.slice(0, 12); // the final checkpoint (13) is gone, 11 and 12 are unsealed
    expect(await findings(cut)).toStrictEqual([{ kind: "truncated", seq: 12, eventId: id(12) }]);
    const report = await verifyChains(cut, { publicKeys: PUBLIC_KEYS });
    expect(report.ok).toBe(true);
    expect(report.chains[0]).toMatchObject({ sealed: false, unsealed: 2 });
    const detail = (await verifyChains(cut, { publicKeys: PUBLIC_KEYS, expectSealed: true })).chains[0]
      ?.findings[0]?.detail;
    expect(detail).toBe(
      "the chain ends at seq 12 without a verified final checkpoint: 2 events after the last checkpoint (seq 10)",
    );
  });

  it("says that a trail cut right after a periodic checkpoint ends in a checkpoint that is not final", async () => {
    const cut = trail.slice(0, 10); // 10 is a periodic checkpoint: its Recorder had not closed
    const report = await verifyChains(cut, { publicKeys: PUBLIC_KEYS, expectSealed: true });
    expect(report.chains[0]?.findings.map(({ kind, seq, detail }) => [kind, seq, detail])).toStrictEqual([
      [
        "truncated",
        10,
        "the chain ends at seq 10 in a checkpoint that is not final: its Recorder did not close",
      ],
    ]);
  });

  it("says that a sealed trail verified without its public key ends in a final checkpoint it could not verify", async () => {
    const report = await verifyChains(trail, { expectSealed: true });
    expect(report.chains[0]).toMatchObject({ sealed: false, unsealed: 0, verifiedCheckpoints: 0 });
    expect(report.chains[0]?.findings.map(({ kind, seq, detail }) => [kind, seq, detail])).toStrictEqual([
      ["unknown_key", 5, "no public key was given for key id audit-test"],
      ["unknown_key", 10, "no public key was given for key id audit-test"],
      ["unknown_key", 13, "no public key was given for key id audit-test"],
      [
        "truncated",
        13,
        "the chain ends at seq 13 in a final checkpoint that could not be verified: no public key was given for key id audit-test",
      ],
    ]);
  });

  it("finds a checkpoint signed with another key, or with an edited head, as bad_signature", async () => {
    expect(await findings(replace(10, forgedCheckpoint(at(10))))).toStrictEqual([
      { kind: "bad_signature", seq: 10, eventId: id(10) },
      { kind: "broken_link", seq: 11, eventId: id(11) },
    ]);
    expect(await findings(replace(13, forgedCheckpoint(at(13))))).toStrictEqual([
      { kind: "bad_signature", seq: 13, eventId: id(13) },
      { kind: "truncated", seq: 13, eventId: id(13) },
    ]);
    expect(await findings(replace(13, editedHead(at(13))))).toStrictEqual([
      { kind: "bad_signature", seq: 13, eventId: id(13) },
      { kind: "truncated", seq: 13, eventId: id(13) },
    ]);
    // A rewritten event with every later hash recomputed still disagrees with the signed checkpoint.
    const head = forgedCheckpoint(at(13), (detail) => {
      detail.headSeq = 11;
    });
    expect((await findings(replace(13, head)))[0]).toStrictEqual({
      kind: "bad_signature",
      seq: 13,
      eventId: id(13),
    });
  });

  it("finds an event put in with a seq no Recorder writes as broken_link", async () => {
    const chain = at(1).chain;
    if (chain === undefined) throw new Error("no chain");
    const inserted = rehashed({ ...at(1), eventId: "inserted", chain: { ...chain, seq: 0 } });
    expect(await findings([inserted, ...trail])).toStrictEqual([
      { kind: "broken_link", seq: 0, eventId: "inserted" },
    ]);
  });

  it("reports checkpoints of a key it was not given as unknown_key", async () => {
    const report = await verifyChains(trail, {});
    expect(report.chains[0]?.findings.map((f) => [f.kind, f.seq])).toStrictEqual([
      ["unknown_key", 5],
      ["unknown_key", 10],
      ["unknown_key", 13],
    ]);
  });

  it("counts at-least-once duplicates without flagging them, and flags a different event with the same seq", async () => {
    const report = await verifyChains([...trail.slice(0, 6), at(5), at(6), ...trail.slice(6), at(13)], {
      publicKeys: PUBLIC_KEYS,
      expectSealed: true,
    });
    expect(report.chains[0]).toMatchObject({ duplicates: 3, findings: [], sealed: true });
    const other = { ...editedAndRehashed(at(6)), eventId: "someone-else" };
    expect(await findings([...trail.slice(0, 6), other, ...trail.slice(6)])).toStrictEqual([
      { kind: "conflict", seq: 6, eventId: "someone-else" },
    ]);
  });

  it("keeps chains apart and counts events without a chain", async () => {
    const second = await recordTrail(2);
    const unchained = { ...at(1), chain: undefined };
    const interleaved = [at(1), second[0], at(2), unchained, second[1], ...trail.slice(2), second[2]].filter(
      (e): e is AuditEvent => e !== undefined,
    );
    // Not expected sealed: with expectSealed an event without a chain is an `unchained` finding.
    const report = await verifyChains(interleaved, { publicKeys: PUBLIC_KEYS });
    expect(report).toMatchObject({ ok: true, unchained: 1, events: 17 });
    expect(report.chains.map((c) => c.sealed)).toStrictEqual([true, true]);
    expect(report.chains.map((c) => c.events)).toStrictEqual([13, 3]);
  });
});
