/**
 * Trails on which verifyChains once found nothing wrong because it checked nothing, or not all: no
 * chained event at all, events without a chain next to sealed chains, a public key that signed none of
 * the trail, a chain whose tail another trusted key signed.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chainHash } from "../../src/chain/canonical.js";
import { signCheckpoint } from "../../src/chain/checkpoint.js";
import { verifyChains } from "../../src/chain/verify.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { edited } from "./tamper.js";
import { KEY_ID, PUBLIC_KEYS, recordMutations, recordTrail } from "./trail.js";

// 10 mutations with a checkpoint every 4: seqs 1-4 mutations, 5 checkpoint, 6-9, 10 checkpoint, 11-12, 13 final.
const trail = await recordTrail(10, { checkpointEvery: 4 });
const sealed = { publicKeys: PUBLIC_KEYS, expectSealed: true };

/** Events of a Recorder with `chain: false`. */
async function unchainedEvents(count: number): Promise<AuditEvent[]> {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory], chain: false });
  recordMutations(recorder, count);
  await recorder.close();
  return [...memory.events];
}

describe("verifyChains on a trail without chained events", () => {
  it("finds an empty trail `empty` when it must be sealed, and verifies nothing without", async () => {
    expect(await verifyChains([], sealed)).toStrictEqual({
      ok: false,
      chains: [],
      findings: [{ kind: "empty", eventId: "", detail: "the trail holds no event: nothing was verified" }],
      events: 0,
      unchained: 0,
      unusedKeys: [KEY_ID],
    });
    expect(await verifyChains([], { publicKeys: PUBLIC_KEYS })).toMatchObject({
      ok: true,
      chains: [],
      findings: [],
    });
  });

  it("finds a trail of events without chain `empty` when it must be sealed", async () => {
    const events = await unchainedEvents(3);
    expect(events).toHaveLength(3);
    expect(await verifyChains(events, sealed)).toMatchObject({
      ok: false,
      chains: [],
      findings: [
        {
          kind: "empty",
          eventId: "",
          detail: "the trail holds 3 events, none in a chain: nothing was verified",
        },
      ],
      unchained: 3,
    });
    expect((await verifyChains(events, {})).ok).toBe(true);
  });
});

describe("verifyChains on a trail that must be sealed", () => {
  it("finds events without a chain next to sealed chains `unchained`, naming the first", async () => {
    const forged = { ...edited(trail[6] as AuditEvent), eventId: "forged", chain: undefined };
    const events = [...trail.slice(0, 7), forged, ...trail.slice(7), forged];
    expect(await verifyChains(events, sealed)).toMatchObject({
      ok: false,
      chains: [{ sealed: true, findings: [] }],
      findings: [
        { kind: "unchained", eventId: "forged", detail: "2 events have no chain: nothing verifies them" },
      ],
      unchained: 2,
    });
    // A recorder may still be running: the events are only counted.
    expect(await verifyChains(events, { publicKeys: PUBLIC_KEYS })).toMatchObject({
      ok: true,
      findings: [],
      unchained: 2,
    });
  });

  it("lists the given key ids that no checkpoint names, without a finding", async () => {
    const other = generateKeyPairSync("ed25519").publicKey;
    const keys = new Map([...PUBLIC_KEYS, ["audit-old", other]]);
    expect(await verifyChains(trail, { publicKeys: keys, expectSealed: true })).toMatchObject({
      ok: true,
      unusedKeys: ["audit-old"],
    });
    expect((await verifyChains(trail, sealed)).unusedKeys).toStrictEqual([]);
  });

  it("finds a tail re-signed with another trusted key `bad_signature`: a Recorder signs its chain with one key", async () => {
    // Whoever holds the key of another service rewrites seqs 11-13 and signs a final checkpoint.
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const keys = new Map([...PUBLIC_KEYS, ["other-service", publicKey]]);
    const rewritten = trail.slice(0, 10);
    let head = rewritten[9]?.chain?.hash ?? "";
    for (const event of trail.slice(10)) {
      const chain = {
        chainId: event.chain?.chainId ?? "",
        seq: event.chain?.seq ?? 0,
        prevHash: head,
        hash: "",
      };
      let copy: AuditEvent = { ...(chain.seq === 11 ? edited(event) : event), chain };
      if (copy.detail?.$case === "checkpoint") {
        const detail = {
          ...copy.detail.value,
          keyId: "other-service",
          headSeq: chain.seq - 1,
          headHash: head,
        };
        detail.signature = signCheckpoint(privateKey, chain.chainId, detail);
        copy = { ...copy, detail: { $case: "checkpoint", value: detail } };
      }
      chain.hash = chainHash(copy);
      head = chain.hash;
      rewritten.push(copy);
    }
    const report = await verifyChains(rewritten, { publicKeys: keys, expectSealed: true });
    expect(report.chains[0]?.findings.map(({ kind, seq }) => [kind, seq])).toStrictEqual([
      ["bad_signature", 13],
      ["truncated", 13],
    ]);
    expect(report.chains[0]?.findings[0]?.detail).toBe(
      `the checkpoint names key other-service, the chain's first checkpoint (seq 5) key ${KEY_ID}: a Recorder signs its whole chain with one key`,
    );
  });
});
