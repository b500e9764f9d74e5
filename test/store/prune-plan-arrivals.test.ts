// A plan deleted in several transactions (the SQLite store's prune): rows stored between them bound
// their chain's prefix while nothing of it at or above the new end is gone, and count as stored after
// the prune once something is, so the outcome is always that of a prune done in one transaction.
import { describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/event/serialize.js";
import { startPrunePlan } from "../../src/store/prune-plan.js";
import { recordTrail } from "../chain/trail.js";

// Seqs 1-4 mutations, 5 checkpoint, 6-9, 10 checkpoint, 11-12, 13 final.
const trail = await recordTrail(10, { checkpointEvery: 4 });
const BEFORE_MS = 50;
/** Seq `seq` at position `seq`: seqs 1 to 11 older than BEFORE_MS, 12 and 13 not. */
const row = (seq: number, position = seq) => ({
  position,
  occurredAtMs: seq <= 11 ? 1 : 100,
  event: encodeEvent(trail[seq - 1] as (typeof trail)[number]),
});

/**
 * A plan of every seq but 1 (not stored yet), after `taken` positions were handed out by `next`: its
 * prefix ends before checkpoint 10. (A seq missing above the lowest stored one ends the prefix
 * already, so only a late row below it, or at a seq stored twice, can end it earlier.)
 */
function planWithout1(taken: number) {
  const plan = startPrunePlan(BEFORE_MS);
  for (let seq = 2; seq <= 13; seq++) plan.add(row(seq));
  const positions = Array.from({ length: taken }, () => plan.next());
  return { plan, positions };
}

/** The positions `next` still hands out. */
function rest(plan: ReturnType<typeof startPrunePlan>): number[] {
  const positions: number[] = [];
  for (let p = plan.next(); p !== undefined; p = plan.next()) positions.push(p);
  return positions;
}

describe("a prune plan deleted in several transactions", () => {
  it("lets a late row end its chain's prefix earlier while nothing at or above that end is deleted", () => {
    // Seq 1 ends the prefix before it: no checkpoint lies below it, so nothing of the chain goes.
    const { plan } = planWithout1(0);
    expect(plan.keep(row(1, 14))).toBe(true);
    expect(rest(plan)).toStrictEqual([]);
    expect(plan.finish().report).toStrictEqual({
      deleted: 0,
      // 1 itself and 2 to 11 are kept because 1 arrived.
      kept: { anchors: 0, afterLastCheckpoint: 0, behindNewer: 0, arrived: 11 },
      anchoredChains: 0,
      wholeChains: 0,
      unsignedChains: 0,
      unchained: 0,
    });
  });

  it("takes a late row as stored after the prune once a row of its chain at or above that end is deleted", () => {
    const { plan, positions } = planWithout1(6);
    expect(positions).toStrictEqual([2, 3, 4, 5, 6, 7]); // seq 2 is gone: 1 cannot end the prefix
    expect(plan.keep(row(1, 14))).toBe(false);
    expect(rest(plan)).toStrictEqual([8, 9]);
    // What a plan that never saw seq 1 reports: 2 to 9 go, checkpoint 10 anchors.
    const never = planWithout1(0).plan.finish();
    expect(plan.finish()).toStrictEqual(never);
    expect(never.report).toMatchObject({ deleted: 8, kept: { anchors: 1, afterLastCheckpoint: 1 } });
  });

  it("takes a row that leaves its chain's prefix where it was, after any deletes", () => {
    const { plan } = planWithout1(8);
    const newer = {
      ...row(13),
      position: 15,
      event: encodeEvent({ ...trail[12], eventId: "e-14" } as (typeof trail)[number]),
    };
    expect(plan.keep(newer)).toBe(true);
    expect(rest(plan)).toStrictEqual([]);
    expect(plan.finish().report.deleted).toBe(8);
  });
});
