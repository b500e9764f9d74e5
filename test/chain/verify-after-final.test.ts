// What verify accepts after a final checkpoint. close() may write a second final checkpoint (when an
// emitter refused the first) and link the calls that end meanwhile before it: events between two final
// checkpoints are covered by the second one's signature. Anything else after a final checkpoint is an
// event appended to a sealed trail, and stays a finding (test/integration/close-checkpoint-retry.test.ts
// covers the first case end to end).
import { describe, expect, it } from "vitest";
import { chainHash } from "../../src/chain/canonical.js";
import { verifyChains } from "../../src/chain/verify.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { forgedCheckpoint } from "./tamper.js";
import { PUBLIC_KEYS, recordTrail } from "./trail.js";

// 3 mutations (seqs 1-3) and the final checkpoint (seq 4).
const trail = await recordTrail(3);
const last = trail[trail.length - 1] as AuditEvent;

/** A copy of `template` linked after `previous`, as an attacker who knows the format appends one. */
function appendedAfter(previous: AuditEvent, template: AuditEvent): AuditEvent {
  const chain = previous.chain;
  if (chain === undefined) throw new Error("the event has no chain");
  const event: AuditEvent = {
    ...template,
    eventId: `${template.eventId}-appended`,
    chain: { chainId: chain.chainId, seq: chain.seq + 1, prevHash: chain.hash, hash: "" },
  };
  return {
    ...event,
    chain: { ...(event.chain as NonNullable<AuditEvent["chain"]>), hash: chainHash(event) },
  };
}

async function findingsOf(events: AuditEvent[]) {
  const report = await verifyChains(events, { publicKeys: PUBLIC_KEYS, expectSealed: true });
  return report.chains.flatMap((c) => c.findings.map((f) => [f.kind, f.seq, f.detail]));
}

describe("events after a final checkpoint", () => {
  it("flags an event appended after the final checkpoint", async () => {
    const appended = appendedAfter(last, trail[0] as AuditEvent);
    expect(await findingsOf([...trail, appended])).toStrictEqual([
      ["broken_link", 5, "the event follows the final checkpoint at seq 4"],
      [
        "truncated",
        5,
        "the chain ends at seq 5 without a verified final checkpoint: 1 event after the last checkpoint (seq 4)",
      ],
    ]);
  });

  it("still flags it when a final checkpoint nobody can verify follows it", async () => {
    const appended = appendedAfter(last, trail[0] as AuditEvent);
    const head = appended.chain as NonNullable<AuditEvent["chain"]>;
    const reseal = forgedCheckpoint(appendedAfter(appended, last), (detail) => {
      detail.headSeq = head.seq;
      detail.headHash = head.hash;
    });
    expect(await findingsOf([...trail, appended, reseal])).toStrictEqual([
      ["broken_link", 5, "the event follows the final checkpoint at seq 4"],
      ["bad_signature", 6, "the signature does not verify with key audit-test"],
      [
        "truncated",
        6,
        "the chain ends at seq 6 in a final checkpoint that could not be verified: the signature does not verify with key audit-test",
      ],
    ]);
  });
});
