// The order a prune plan hands out its rows in, for a store that deletes them in several
// transactions: it may commit only where every chain is as a finished prune leaves it, so that a
// prune killed between two transactions leaves a store that verifies.
import { describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { startPrunePlan } from "../../src/store/prune-plan.js";
import { recordTrail } from "../chain/trail.js";

// Seqs 1-4 mutations, 5 checkpoint, 6-9, 10 checkpoint, 11-12, 13 final.
const signed = await recordTrail(10, { checkpointEvery: 4 });
// Seqs 1-3, without any checkpoint (no signing key).
const unsigned = await recordTrail(3, { recorder: { chain: true } });
const BEFORE_MS = 50;
const row = (event: AuditEvent, position: number) => ({
  position,
  occurredAtMs: 1,
  event: encodeEvent(event),
});

/** Every position `take` hands out until it has none. */
function drain(take: () => number | undefined): number[] {
  const positions: number[] = [];
  for (let p = take(); p !== undefined; p = take()) positions.push(p);
  return positions;
}

describe("a prune plan deleted in several transactions", () => {
  it("completes a chain left partway up to its next checkpoint, and deletes a chain without any from the top", () => {
    expect([signed.length, unsigned.length]).toStrictEqual([13, 3]);
    const plan = startPrunePlan(BEFORE_MS);
    // The signed chain at positions 1 to 13 but seq 3, stored late (position 20); then the unsigned one.
    for (const [i, event] of signed.entries()) if (i !== 2) plan.add(row(event, i + 1));
    plan.add(row(signed[2] as AuditEvent, 20));
    for (const [i, event] of unsigned.entries()) plan.add(row(event, 30 + i));
    expect([plan.next(), plan.next()]).toStrictEqual([1, 2]);
    // Seqs 4 and 3 (in the order read), and the chain starts at its checkpoint 5: a commit may follow.
    expect(drain(() => plan.toCut())).toStrictEqual([4, 20]);
    // The rest: the signed chain, which ended, goes whole; then the unsigned one, from seq 3 down.
    expect(drain(() => plan.next())).toStrictEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 32, 31, 30]);
    expect(plan.toCut()).toBeUndefined();
    expect(plan.finish().report).toMatchObject({ deleted: 16, wholeChains: 2 });
  });
});
