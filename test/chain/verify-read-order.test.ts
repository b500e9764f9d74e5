import { beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import type { ChainReport, VerifyReport } from "../../src/chain/verify-types.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { edited, editedAndRehashed } from "./tamper.js";
import { PUBLIC_KEYS, recordTrail } from "./trail.js";

// The verifier checks links as events arrive when it can and keeps the rest for later: whatever the
// order a source holds a trail in, it must find the same, plus `reordered` for what is out of order.

/** The event moved to a seq no Recorder writes (0.5 cannot even be encoded, so hashed). */
function atSeq(event: AuditEvent, seq: number): AuditEvent {
  if (event.chain === undefined) throw new Error("the event has no chain");
  return { ...event, chain: { ...event.chain, seq } };
}

/** A tampered trail, in seq order: edits, a cut, a duplicate, seqs out of any chain, and ids that are no UUIDs. */
async function tamperedTrail(): Promise<AuditEvent[]> {
  const trail = await recordTrail(3000, { checkpointEvery: 1000 });
  trail[99] = edited(trail[99] as AuditEvent); // seq 100: modified
  trail[199] = editedAndRehashed(trail[199] as AuditEvent); // seq 200: the link of 201 breaks
  trail.splice(299, 3); // seqs 300 to 302: missing
  trail.push(trail[396] as AuditEvent); // seq 400 again: a duplicate
  trail.unshift(atSeq(trail[4] as AuditEvent, 0.5)); // not a position, sorted first
  trail.push(atSeq(trail[5] as AuditEvent, 2 ** 53 + 2)); // not a safe integer, sorted last
  let id = 0;
  const odd = await recordTrail(40, { checkpointEvery: 10, recorder: { newEventId: () => `e-${++id}` } });
  odd[14] = editedAndRehashed(odd[14] as AuditEvent);
  return [...trail, ...odd];
}

/** The report's chains by id, without their `reordered` findings. */
function unordered(report: VerifyReport): Map<string, ChainReport> {
  const chains = report.chains.map((chain) => ({
    ...chain,
    findings: chain.findings.filter((finding) => finding.kind !== "reordered"),
  }));
  return new Map(chains.map((chain) => [chain.chainId, chain]));
}

function reorderedSeqs(report: VerifyReport): number[] {
  return report.chains.flatMap((chain) =>
    chain.findings.filter((f) => f.kind === "reordered").map((f) => f.seq),
  );
}

/** A fixed shuffle (a linear congruential generator), so a failure can be replayed. */
function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  let state = 12345;
  for (let i = copy.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

describe("verifyChains in any read order", () => {
  let trail: AuditEvent[];
  let inOrder: VerifyReport;

  beforeAll(async () => {
    trail = await tamperedTrail();
    inOrder = await verifyChains(trail, { publicKeys: PUBLIC_KEYS, expectSealed: true });
  });

  it("finds every tampering of the trail read in seq order, and nothing reordered", () => {
    expect(reorderedSeqs(inOrder)).toStrictEqual([]);
    const [main, odd] = inOrder.chains;
    expect(main?.findings.map(({ kind, seq, toSeq }) => ({ kind, seq, toSeq }))).toStrictEqual([
      { kind: "broken_link", seq: 0.5, toSeq: undefined },
      { kind: "modified", seq: 100, toSeq: undefined },
      { kind: "broken_link", seq: 201, toSeq: undefined },
      { kind: "missing", seq: 300, toSeq: 302 },
      { kind: "broken_link", seq: 2 ** 53 + 2, toSeq: undefined },
      { kind: "truncated", seq: 2 ** 53 + 2, toSeq: undefined },
    ]);
    expect(main?.duplicates).toBe(1);
    expect(odd?.findings).toStrictEqual([
      {
        kind: "broken_link",
        seq: 16,
        eventId: "e-16",
        detail: "prevHash is not the hash of the event at seq 15",
      },
    ]);
  });

  it.each([
    ["reversed", (events: AuditEvent[]) => [...events].reverse()],
    ["shuffled", shuffled],
    [
      "with a block moved to the end",
      (events: AuditEvent[]) => [
        ...events.slice(0, 1000),
        ...events.slice(1500),
        ...events.slice(1000, 1500),
      ],
    ],
  ])("finds the same read %s, and what is out of order as reordered", async (_, order) => {
    const report = await verifyChains(order(trail), { publicKeys: PUBLIC_KEYS, expectSealed: true });
    expect(unordered(report)).toStrictEqual(unordered(inOrder));
    expect(report.events).toBe(inOrder.events);
    expect(reorderedSeqs(report).length).toBeGreaterThan(0);
  });

  it("names exactly the events of a block moved to the end as reordered", async () => {
    const moved = [...trail.slice(0, 1000), ...trail.slice(1500), ...trail.slice(1000, 1500)];
    const report = await verifyChains(moved, { publicKeys: PUBLIC_KEYS });
    expect(reorderedSeqs(report)).toStrictEqual(trail.slice(1000, 1500).map((event) => event.chain?.seq));
  });

  it("finds nothing but reordered events in an untouched trail read backwards", async () => {
    const untouched = await recordTrail(2000, { checkpointEvery: 500 });
    const report = await verifyChains([...untouched].reverse(), {
      publicKeys: PUBLIC_KEYS,
      expectSealed: true,
    });
    const [chain] = report.chains;
    // The longest run in source order is one event: the last seq, read first.
    expect(chain?.findings.map((f) => `${f.kind} ${f.seq}`)).toStrictEqual(
      untouched.slice(0, -1).map((event) => `reordered ${event.chain?.seq}`),
    );
    expect({ sealed: chain?.sealed, verified: chain?.verifiedCheckpoints }).toStrictEqual({
      sealed: true,
      verified: 5,
    });
  });
});
